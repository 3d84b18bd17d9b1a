//! The simulator's generated pictures: a PNG of the requested shape and size with the prompt
//! written on it, so a person sees at once which request made which image.

use font8x8::UnicodeFonts;

/// Pixel size for a resolution and aspect ratio, as the model's facts give it (a 1K square
/// for anything the validator would not have let through).
pub fn dimensions(resolution: &str, aspect_ratio: &str) -> (u32, u32) {
    runbase_image::GPT_IMAGE_2
        .pixel_size(resolution, aspect_ratio)
        .unwrap_or((1024, 1024))
}

fn glyph(c: char) -> [u8; 8] {
    font8x8::BASIC_FONTS
        .get(c)
        .or_else(|| font8x8::LATIN_FONTS.get(c))
        .or_else(|| font8x8::GREEK_FONTS.get(c))
        .or_else(|| font8x8::HIRAGANA_FONTS.get(c))
        .or_else(|| font8x8::BOX_FONTS.get(c))
        // Scripts the 8×8 font lacks (CJK ideographs among them) show as a hollow box.
        .unwrap_or([0xFF, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xFF])
}

struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn fill_pixel(&mut self, x: u32, y: u32, rgb: [u8; 3]) {
        if x < self.width && y < self.height {
            let i = ((y * self.width + x) * 3) as usize;
            if let Some(px) = self.pixels.get_mut(i..i + 3) {
                px.copy_from_slice(&rgb);
            }
        }
    }

    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, rgb: [u8; 3]) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.fill_pixel(xx, yy, rgb);
            }
        }
    }

    /// Writes `text` wrapped to the canvas width; returns the y below the last line.
    fn text(
        &mut self,
        text: &str,
        x: u32,
        y: u32,
        scale: u32,
        rgb: [u8; 3],
        max_lines: u32,
    ) -> u32 {
        let advance = 8 * scale;
        let per_line = ((self.width.saturating_sub(2 * x)) / advance).max(1) as usize;
        let chars: Vec<char> = text.chars().filter(|c| !c.is_control()).collect();
        let mut line_y = y;
        for (n, line) in chars.chunks(per_line).enumerate() {
            if n as u32 >= max_lines {
                break;
            }
            for (i, c) in line.iter().enumerate() {
                let bits = glyph(*c);
                let gx = x + i as u32 * advance;
                for (row, byte) in bits.iter().enumerate() {
                    for col in 0..8 {
                        if byte & (1 << col) != 0 {
                            self.rect(
                                gx + col * scale,
                                line_y + row as u32 * scale,
                                scale,
                                scale,
                                rgb,
                            );
                        }
                    }
                }
            }
            line_y += advance + advance / 2;
        }
        line_y
    }
}

fn hash(text: &str) -> u64 {
    // FNV-1a: a stable colour per prompt.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

pub fn render_png(prompt: &str, aspect_ratio: &str, resolution: &str) -> Vec<u8> {
    let (width, height) = dimensions(resolution, aspect_ratio);
    let seed = hash(prompt);
    let base = [
        (seed >> 8) as u8 / 2 + 40,
        (seed >> 16) as u8 / 2 + 40,
        (seed >> 24) as u8 / 2 + 60,
    ];
    let mut canvas = Canvas {
        width,
        height,
        pixels: vec![0; (width * height * 3) as usize],
    };
    for y in 0..height {
        let shade = (y * 60 / height.max(1)) as u8;
        let row = [
            base[0].saturating_sub(shade),
            base[1].saturating_sub(shade),
            base[2].saturating_add(shade / 2),
        ];
        for x in 0..width {
            canvas.fill_pixel(x, y, row);
        }
    }
    let scale = (width.min(height) / 160).max(2);
    let margin = scale * 8;
    canvas.rect(0, 0, width, scale * 16, [20, 20, 28]);
    let label = format!("SIMULATED gpt-image-2 {aspect_ratio} {resolution} {width}x{height}");
    let label_scale = (scale * 2 / 3).max(1);
    canvas.text(&label, margin, scale * 5, label_scale, [255, 210, 90], 1);
    let max_lines = (height.saturating_sub(scale * 24) / (scale * 12)).max(1);
    canvas.text(
        prompt,
        margin,
        scale * 24,
        scale,
        [255, 255, 255],
        max_lines,
    );
    encode(&canvas)
}

fn encode(canvas: &Canvas) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, canvas.width, canvas.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let written = encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&canvas.pixels));
    if let Err(e) = written {
        // Only possible on a size mismatch, which dimensions() rules out; keep serving.
        tracing::error!("simulator: PNG encoding failed: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_ratio_and_resolution() {
        assert_eq!(dimensions("1K", "1:1"), (1024, 1024));
        assert_eq!(dimensions("4K", "16:9"), (3840, 2160));
        assert_eq!(dimensions("4K", "9:16"), (2160, 3840));
        assert_eq!(dimensions("2K", "21:9"), (2048, 877));
        assert_eq!(dimensions("1K", "2:3"), (682, 1024));
    }

    #[test]
    fn png_has_the_right_size() {
        let png = render_png("A lamp 一张", "16:9", "1K");
        assert_eq!(&png[1..4], b"PNG");
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert_eq!((width, height), (1024, 576));
    }
}
