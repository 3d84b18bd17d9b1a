// Each entry of the package is one file with its own copy of this class (the full one and
// runbase-image/validate; ES module and CommonJS): `instanceof` asks for the mark all copies
// share, so an error of one entry is a RunbaseError to the others.
const MARK = Symbol.for("runbase-image.RunbaseError");

/** Every error this library throws or rejects with. `kind` is stable; see docs/API.md#errors. */
export class RunbaseError extends Error {
  constructor(message, fields = {}) {
    // `cause`: what the error came from (fetch's TypeError, the abort reason, a parse error).
    super(message, fields?.cause === undefined ? undefined : { cause: fields.cause });
    this.name = "RunbaseError";
    this.kind = fields.kind;
    this.status = fields.status;
    this.code = fields.code;
    this.retryable = fields.retryable ?? false;
    this.retryAfterMs = fields.retryAfterMs;
    this.runId = fields.runId;
    this.issues = fields.issues;
  }

  static [Symbol.hasInstance](value) {
    return value?.[MARK] === true;
  }
}
RunbaseError.prototype[MARK] = true;

/** The library's own refusal of what it was given (kind "validation"). */
export const invalid = (message, code, issues, cause) => new RunbaseError(message, { kind: "validation", code, issues, cause });
