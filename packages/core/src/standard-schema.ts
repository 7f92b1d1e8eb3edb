/**
 * The Standard Schema interface (standardschema.dev, v1), which zod, valibot, arktype and
 * others implement: a validator any of them provides, with no dependency on one. The spec asks
 * libraries that accept schemas to carry these types themselves; they are the spec's, trimmed to
 * what Tether reads.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => StandardSchemaResult<Output> | Promise<StandardSchemaResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** A validation's outcome: the (possibly transformed) value, or the issues found. */
export type StandardSchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardSchemaIssue> };

/** One thing wrong with a value: a message, and where in the value. */
export interface StandardSchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}
