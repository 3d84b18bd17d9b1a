export { default as init, validateInput } from "../../pkg/validate.js";
