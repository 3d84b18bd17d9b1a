// The inputs every validator is timed on.
function dataUrl(bytes) {
  return `data:image/png;base64,${"A".repeat(Math.ceil(bytes / 3) * 4)}`;
}
export function benchInputs() {
  return {
    "valid full input": { prompt: "Matte ceramic vase on a walnut table, soft window light from the left", aspect_ratio: "16:9", resolution: "4K", image_urls: ["https://images.example/style.png"] },
    "three errors": { prompt: "", aspect_ratio: "16x9", resolution: "8K" },
    // The same problems with values never seen before: no verdict kept from an earlier call
    // (the package keeps each field's issues per value, as a form re-validates unchanged fields).
    "three errors, new values every call": (() => {
      let n = 0;
      return () => ({ prompt: "", aspect_ratio: `16x9 (${n})`, resolution: `8K (${n++})` });
    })(),
    "4000-character prompt": { prompt: "x".repeat(4000), aspect_ratio: "1:1" },
    // Four different strings (as four pictures are), each 4,000,000 bytes decoded: under the
    // 4 MiB limit. Validated again and again, as a form does on every keystroke.
    "4 data URLs of 4 MB": { prompt: "Blend these", image_urls: [1, 2, 3, 4].map((n) => dataUrl(4_000_000).replace("AAAA", `${n}AAA`)) },
  };
}
