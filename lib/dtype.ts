import type { DTypeName } from '../types/native';
import { GermError } from './errors';

export type DType = DTypeName;

export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i8', 'i32', 'u8'];

/** Bytes per element (u8 is also the container of packed 4-bit pairs). */
export function dtypeSize(dtype: DType): number {
  return dtype === 'f32' || dtype === 'i32' ? 4 : dtype === 'f16' || dtype === 'bf16' ? 2 : 1;
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

export function checkDType(dtype: unknown): DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  throw new GermError(`unknown dtype ${JSON.stringify(dtype)} (expected ${DTYPES.join(', ')})`, 'ERR_DTYPE');
}

/** What `await t.data()` gives per dtype (f16 and bf16 widen to f32, exactly). */
export type HostArray<D extends DType> = D extends 'i32'
  ? Int32Array
  : D extends 'i8'
    ? Int8Array
    : D extends 'u8'
      ? Uint8Array
      : Float32Array;

export type HostData = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint16Array | number[];
