// The error for a bad configuration input (a policy file, a key set file, a key set URL): it names the source
// and the field, so an operator can fix it without reading code. Must never carry secret values.

export class AuthConfigError extends Error {
  /** The file path or URL the bad value came from. */
  readonly source: string;
  /** Dotted path of the offending field, or '' when the whole input is at fault. */
  readonly field: string;

  constructor(source: string, field: string, problem: string, options?: { cause?: unknown }) {
    super(field ? `${source}: ${field}: ${problem}` : `${source}: ${problem}`, options);
    this.name = 'AuthConfigError';
    this.source = source;
    this.field = field;
  }
}
