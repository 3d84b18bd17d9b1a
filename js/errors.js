// The class of every error of the library, its own module so that every entry of the package
// (the full one and runbase-image/validate, in any runtime) throws the same class.
/** Every error this library throws or rejects with. `kind` is stable; see the README. */
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
}
