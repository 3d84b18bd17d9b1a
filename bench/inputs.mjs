// The inputs every validator is timed on.
function dataUrl(bytes) {
  return `data:image/png;base64,${"A".repeat(Math.ceil(bytes / 3) * 4)}`;
}
export function benchInputs() {
  return {
    "valid full input": { prompt: "Matte ceramic vase on a walnut table, soft window light from the left", aspect_ratio: "16:9", resolution: "4K", image_urls: ["https://images.example/style.png"] },
    "three errors": { prompt: "", aspect_ratio: "16x9", resolution: "8K" },
    "4000-character prompt": { prompt: "x".repeat(4000), aspect_ratio: "1:1" },
    "4 data URLs of 1 MB": { prompt: "Blend these", image_urls: [1, 2, 3, 4].map(() => dataUrl(1_000_000)) },
  };
}
