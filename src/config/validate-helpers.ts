/**
 * Small reusable checks behind every option: each names the option, what was
 * expected and what was got, on one template.
 */
import { InvalidOptionError } from '../api/errors.js';

export function positiveInt(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new InvalidOptionError(option, 'a positive integer', value);
  return value;
}

export function nonNegativeInt(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidOptionError(option, 'a non-negative integer', value);
  return value;
}

/** Milliseconds: a non-negative number, `Infinity` allowed. */
export function duration(option: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new InvalidOptionError(option, 'a non-negative number of milliseconds', value);
  return value;
}

/** A positive integer or `Infinity`. */
export function capacity(option: string, value: unknown): number {
  if (value === Infinity) return value;
  return positiveInt(option, value);
}

export function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidOptionError(option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

export function plainObject(option: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidOptionError(option, 'an object', value);
  return value as Record<string, unknown>;
}


/** A positive number of `unit` (`Infinity` allowed): `'milliseconds'`, `'MiB'`... */
export function positive(option: string, value: unknown, unit: string): number {
  if (typeof value !== 'number' || !(value > 0)) throw new InvalidOptionError(option, `a positive number of ${unit}`, value);
  return value;
}

/** A non-negative integer or `Infinity`. */
export function limit(option: string, value: unknown): number {
  if (value === Infinity) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new InvalidOptionError(option, 'a non-negative integer or Infinity', value);
  return value;
}

/** Refuses a key of `o` that is not one of `keys`, naming it and the known ones. */
export function known(option: string, o: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) throw new InvalidOptionError(`${option}.${key}`, `a known option (${keys.join(', ')})`, `an unknown option "${key}"`);
  }
}
