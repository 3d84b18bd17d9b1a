//! The one description of each supported model's input, as data.
//!
//! The validator, the JavaScript model facts, the TypeScript unions (checked by a golden test)
//! and the simulator all read this; nothing else may restate these rules.

use serde::Serialize;

/// One resolution and, where it is restricted, the only aspect ratios it may be used with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    pub name: &'static str,
    pub only_with_aspect_ratios: Option<&'static [&'static str]>,
    /// The price of one run, in micro-dollars (the model page's price per image).
    pub price_micro_usd: u64,
    /// The long side of the image in pixels. Runbase does not document pixel sizes: these are
    /// the usual 1K / 2K / 4K (UHD) long sides, which the simulator draws and the demo shows.
    pub long_side_px: u32,
}

impl Resolution {
    pub fn allows(&self, aspect_ratio: &str) -> bool {
        self.only_with_aspect_ratios
            .is_none_or(|ratios| ratios.contains(&aspect_ratio))
    }
}

/// Everything a client needs to know to accept or refuse a model's input offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    pub id: &'static str,
    pub prompt_min_length: usize,
    pub prompt_max_length: usize,
    pub aspect_ratios: &'static [&'static str],
    pub default_aspect_ratio: &'static str,
    pub resolutions: &'static [Resolution],
    pub default_resolution: &'static str,
    pub max_image_urls: usize,
    /// Decoded bytes of one reference image ("4 MB" taken as 4 × 1024 × 1024).
    pub max_image_bytes: usize,
    pub image_url_schemes: &'static [&'static str],
}

/// What a form needs to offer only valid choices.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(tsify_next::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct ModelFacts {
    #[cfg_attr(test, tsify(type = "ModelId"))]
    pub id: &'static str,
    /// The input's fields, in the order the API documents them.
    #[cfg_attr(
        test,
        tsify(type = r#"["prompt", "aspect_ratio", "resolution", "image_urls"]"#)
    )]
    pub input_fields: &'static [&'static str],
    pub prompt_min_length: usize,
    pub prompt_max_length: usize,
    /// How prompt length is counted: "utf16" (String.length).
    #[cfg_attr(test, tsify(type = r#""utf16""#))]
    pub prompt_length_unit: &'static str,
    #[cfg_attr(test, tsify(type = "AspectRatio[]"))]
    pub aspect_ratios: &'static [&'static str],
    #[cfg_attr(test, tsify(type = "AspectRatio"))]
    pub default_aspect_ratio: &'static str,
    #[cfg_attr(test, tsify(type = "Resolution[]"))]
    pub resolutions: Vec<&'static str>,
    #[cfg_attr(test, tsify(type = "Resolution"))]
    pub default_resolution: &'static str,
    /// For each aspect ratio, the resolutions it allows.
    #[cfg_attr(test, tsify(type = "Record<AspectRatio, Resolution[]>"))]
    pub resolutions_by_aspect_ratio: Pairs<Vec<&'static str>>,
    /// For each restricted resolution, the only aspect ratios it allows.
    #[cfg_attr(test, tsify(type = "Partial<Record<Resolution, AspectRatio[]>>"))]
    pub aspect_ratios_by_resolution: Pairs<Vec<&'static str>>,
    pub max_image_urls: usize,
    /// Decoded bytes per reference image (4 × 1024 × 1024).
    pub max_image_bytes: usize,
    #[cfg_attr(test, tsify(type = r#"("https" | "http" | "data")[]"#))]
    pub image_url_schemes: &'static [&'static str],
    /// The price of one run in micro-dollars (1 USD = 1,000,000), by resolution.
    #[serde(rename = "pricesUsd")]
    #[cfg_attr(test, tsify(type = "Record<Resolution, number>"))]
    pub prices_micro_usd: Pairs<u64>,
    /// The image's long side in pixels, by resolution (1K 1024, 2K 2048, 4K 3840; the short
    /// side follows the aspect ratio, rounded down). Runbase does not document pixel sizes.
    #[cfg_attr(test, tsify(type = "Record<Resolution, number>"))]
    pub long_side_px: Pairs<u32>,
}

/// An object with keys in this order.
#[derive(Debug, Clone)]
pub struct Pairs<V>(pub Vec<(&'static str, V)>);

impl<V: Serialize> Serialize for Pairs<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// The names of the input's fields, in the order the API documents them.
pub const FIELD_PROMPT: &str = "prompt";
pub const FIELD_ASPECT_RATIO: &str = "aspect_ratio";
pub const FIELD_RESOLUTION: &str = "resolution";
pub const FIELD_IMAGE_URLS: &str = "image_urls";
pub const FIELDS: [&str; 4] = [
    FIELD_PROMPT,
    FIELD_ASPECT_RATIO,
    FIELD_RESOLUTION,
    FIELD_IMAGE_URLS,
];

pub const GPT_IMAGE_2: ModelSpec = ModelSpec {
    id: "openai/gpt-image-2",
    prompt_min_length: 1,
    prompt_max_length: 4000,
    aspect_ratios: &[
        "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9",
    ],
    default_aspect_ratio: "1:1",
    resolutions: &[
        Resolution {
            name: "1K",
            only_with_aspect_ratios: None,
            price_micro_usd: 50_000,
            long_side_px: 1024,
        },
        Resolution {
            name: "2K",
            only_with_aspect_ratios: None,
            price_micro_usd: 70_000,
            long_side_px: 2048,
        },
        Resolution {
            name: "4K",
            only_with_aspect_ratios: Some(&["16:9", "9:16", "21:9"]),
            price_micro_usd: 120_000,
            long_side_px: 3840,
        },
    ],
    default_resolution: "1K",
    max_image_urls: 4,
    max_image_bytes: 4 * 1024 * 1024,
    image_url_schemes: &["https", "http", "data"],
};

/// Every model this library knows, by id.
pub const MODELS: [&ModelSpec; 1] = [&GPT_IMAGE_2];

pub fn find_model(id: &str) -> Option<&'static ModelSpec> {
    MODELS.into_iter().find(|model| model.id == id)
}

impl ModelSpec {
    pub fn resolution(&self, name: &str) -> Option<&'static Resolution> {
        self.resolutions.iter().find(|r| r.name == name)
    }

    pub fn resolution_names(&self) -> impl Iterator<Item = &'static str> {
        self.resolutions.iter().map(|r| r.name)
    }

    /// What one run at this resolution costs, in micro-dollars (docs/RUNBASE-API.md: charged at
    /// creation, refunded in full if the run fails).
    pub fn cost_micro_usd(&self, resolution: &str) -> Option<u64> {
        self.resolution(resolution).map(|r| r.price_micro_usd)
    }

    /// The facts a form needs, as `getModelFacts()` answers.
    pub fn facts(&self) -> ModelFacts {
        ModelFacts {
            id: self.id,
            input_fields: &FIELDS,
            prompt_min_length: self.prompt_min_length,
            prompt_max_length: self.prompt_max_length,
            prompt_length_unit: "utf16",
            aspect_ratios: self.aspect_ratios,
            default_aspect_ratio: self.default_aspect_ratio,
            resolutions: self.resolution_names().collect(),
            default_resolution: self.default_resolution,
            resolutions_by_aspect_ratio: Pairs(
                self.aspect_ratios
                    .iter()
                    .map(|ratio| (*ratio, self.resolutions_for(ratio).collect()))
                    .collect(),
            ),
            aspect_ratios_by_resolution: Pairs(
                self.resolutions
                    .iter()
                    .filter_map(|r| Some((r.name, r.only_with_aspect_ratios?.to_vec())))
                    .collect(),
            ),
            max_image_urls: self.max_image_urls,
            max_image_bytes: self.max_image_bytes,
            image_url_schemes: self.image_url_schemes,
            prices_micro_usd: Pairs(
                self.resolutions
                    .iter()
                    .map(|r| (r.name, r.price_micro_usd))
                    .collect(),
            ),
            long_side_px: Pairs(
                self.resolutions
                    .iter()
                    .map(|r| (r.name, r.long_side_px))
                    .collect(),
            ),
        }
    }

    /// Width and height in pixels for a resolution and an aspect ratio ("16:9" at 1K is
    /// 1024×576): the long side from the resolution, the short side rounded down.
    pub fn pixel_size(&self, resolution: &str, aspect_ratio: &str) -> Option<(u32, u32)> {
        let long = self.resolution(resolution)?.long_side_px;
        let (w, h) = crate::core::value::split_ascii(aspect_ratio, b':')?;
        let (w, h) = (
            crate::core::value::ascii_number(w)?,
            crate::core::value::ascii_number(h)?,
        );
        if w == 0 || h == 0 {
            return None;
        }
        let short = |a: u64, b: u64| (u64::from(long) * a / b) as u32;
        Some(if w >= h {
            (long, short(h, w))
        } else {
            (short(w, h), long)
        })
    }

    /// The resolutions a form should offer for this aspect ratio.
    pub fn resolutions_for<'a>(
        &'a self,
        aspect_ratio: &'a str,
    ) -> impl Iterator<Item = &'static str> + 'a {
        self.resolutions
            .iter()
            .filter(move |r| r.allows(aspect_ratio))
            .map(|r| r.name)
    }
}
