// The page's few pieces of shared state, in one place.
export const state = {
  /** getModelFacts(): the model's rules, from the library (never repeated here). */
  facts: null,
  /** The AbortController of the run being followed, or null. */
  controller: null,
  /** Whether the person has typed in the prompt yet: no error before they have. */
  promptTouched: false,
};
