// ns per call: warm-up, then the median of several timed batches. Runs in Node and browsers.
export function nsPerCall(fn, input, { batches, minBatchMs }) {
  // An input given as a function makes a fresh one for every call (the same for every
  // validator timed, so its cost is in every row alike).
  if (typeof input === "function") {
    const make = input;
    const validate = fn;
    fn = () => validate(make());
  }
  let perBatch = 1;
  // A first call on its own: it may do one-time work (the core reading a new 4 MB data URL)
  // that would otherwise set the batch size to 1 and leave each batch below the timer's
  // resolution (100 µs in a browser).
  fn(input);
  // Warm-up, and find a batch size that lasts at least minBatchMs.
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) fn(input);
    if (performance.now() - t0 >= minBatchMs || perBatch > 1e7) break;
    perBatch *= 2;
  }
  const samples = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < perBatch; i++) fn(input);
    samples.push(((performance.now() - t0) * 1e6) / perBatch);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

export function timeAll(validators, inputs, options) {
  const results = {};
  for (const [inputName, input] of Object.entries(inputs)) {
    results[inputName] = {};
    for (const [name, fn] of Object.entries(validators)) results[inputName][name] = nsPerCall(fn, input, options);
  }
  return results;
}
