import type { DTypeName } from '../types/native';
import { GermError, invalidArgument } from './errors';

export type DType = DTypeName;

export const DTYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'i8', 'i32', 'u8'];

/** Bytes per element (u8 is also the container of packed 4-bit pairs). */
export function dtypeSize(dtype: DType): number {
  checkDType(dtype);
  return dtype === 'f32' || dtype === 'i32' ? 4 : dtype === 'f16' || dtype === 'bf16' ? 2 : 1;
}

export function isFloat(dtype: DType): boolean {
  checkDType(dtype);
  return dtype === 'f32' || dtype === 'f16' || dtype === 'bf16';
}

/** A value as error messages name it: its kind, not its contents. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : `the number ${v}`;
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v)}`;
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const name = Object.getPrototypeOf(v)?.constructor?.name;
    return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'a plain object';
  }
  return `a ${typeof v}`;
}

/** An options argument: an object, or undefined / null for none (then {}). */
export function optionsArg<T extends object>(options: T | null | undefined, op: string, name = 'options'): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' || Array.isArray(options))
    throw invalidArgument(`${op}: ${name} must be an object, got ${describeValue(options)}`);
  return options;
}

/** A number argument that must be finite (undefined gives the fallback, when there is one). */
export function finiteArg(v: unknown, op: string, name: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidArgument(`${op}: ${name} must be a finite number, got ${describeValue(v)}`);
  return v;
}

/** A boolean argument (undefined gives the fallback). */
export function boolArg(v: unknown, op: string, name: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalidArgument(`${op}: ${name} must be true or false, got ${describeValue(v)}`);
  return v;
}

/** One of a fixed set of values (undefined gives the fallback, when there is one). */
export function oneOf<T>(v: unknown, allowed: readonly T[], op: string, name: string, fallback?: T): T {
  if (v === undefined && fallback !== undefined) return fallback;
  if (!allowed.includes(v as T))
    throw invalidArgument(`${op}: ${name} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describeValue(v)}`);
  return v as T;
}

export function checkDType(dtype: unknown): DType {
  if (typeof dtype === 'string' && (DTYPES as readonly string[]).includes(dtype)) return dtype as DType;
  throw new GermError(`unknown dtype ${describeValue(dtype)} (expected ${DTYPES.join(', ')})`, 'ERR_DTYPE');
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
