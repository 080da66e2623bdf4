/** Stable error codes: branch on `err.code`, not on message text. */
export type GermErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_SHAPE'
  | 'ERR_DTYPE'
  | 'ERR_DEVICE'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_CUDA'
  | 'ERR_DISPOSED'
  | 'ERR_INTERNAL'
  | 'ERR_NO_BINARY'
  | 'ERR_BUILD'
  | 'ERR_FORMAT';

/**
 * Every error germ raises, from TypeScript or from the native addon (which
 * constructs this very class), so `err instanceof GermError` holds.
 */
export class GermError extends Error {
  readonly code: GermErrorCode;

  constructor(message: string, code: GermErrorCode) {
    super(message);
    this.name = 'GermError';
    this.code = code;
  }
}

/** ERR_INVALID_ARGUMENT: a value of the wrong type or range, named in the message. */
export function invalidArgument(message: string): GermError {
  return new GermError(message, 'ERR_INVALID_ARGUMENT');
}
