// runbase-image/validate: the validator alone (the client compiled out of the .wasm), with the
// same rules and the same JS path as the full entry: both are js/validation.js.
export { default, init, initSync, validateInput, getModelFacts, promptLength, estimateCost, fitReferenceImage, RunbaseError } from "./validation.js";
