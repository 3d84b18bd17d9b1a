export { default as init, validateInput, RunbaseClient } from "../../pkg/index.js";
