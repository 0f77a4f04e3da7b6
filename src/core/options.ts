// Declared options (docs/architecture.md, "Options"): an approach (or a workload) lists the options
// it reads, each with a type, a default and help text. The CLI shows them, `--option key=value`
// values are parsed and range-checked against them, and an unknown key is an error that lists the
// valid ones. Keys are camelCase in code and kebab-case on the command line; both are accepted.
import { closest, distance } from 'fastest-levenshtein';
import { z } from 'zod';

export type OptionValue = string | number | boolean;

export interface OptionSpec<T extends OptionValue = OptionValue> {
  /** What the value is, for help text: "files | db", "integer 1..64", "boolean". */
  readonly type: string;
  readonly default: T;
  readonly help: string;
  /** Parses a value from the command line (a string) or from run.json (its stored type). */
  readonly schema: z.ZodType<T>;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type OptionValues<S extends OptionSpecs> = {
  -readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

export function choiceOption<const V extends readonly [string, ...string[]]>(
  values: V,
  fallback: V[number],
  help: string,
): OptionSpec<V[number]> {
  return {
    type: values.join(' | '),
    default: fallback,
    help,
    schema: z.enum(values) as unknown as z.ZodType<V[number]>,
  };
}

export function booleanOption(fallback: boolean, help: string): OptionSpec<boolean> {
  const schema = z.union([
    z.boolean(),
    z.stringbool({ truthy: ['true', 'on', 'yes', '1'], falsy: ['false', 'off', 'no', '0'] }),
  ]);
  return { type: 'boolean (true | false)', default: fallback, help, schema };
}

export function integerOption(range: { min: number; max: number }, fallback: number, help: string): OptionSpec<number> {
  const schema = z.coerce.number().int().min(range.min).max(range.max);
  return { type: `integer ${range.min}..${range.max}`, default: fallback, help, schema };
}

export function numberOption(range: { min: number; max: number }, fallback: number, help: string): OptionSpec<number> {
  const schema = z.coerce.number().min(range.min).max(range.max);
  return { type: `number ${range.min}..${range.max}`, default: fallback, help, schema };
}

export function stringOption(fallback: string, help: string): OptionSpec<string> {
  return { type: 'string', default: fallback, help, schema: z.string() };
}

export function toKebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function toCamel(key: string): string {
  return key.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** ", did you mean X?" when one candidate is close to what was typed; "" otherwise. */
export function didYouMean(typed: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const best = closest(typed, [...candidates]);
  return distance(typed, best) <= Math.max(2, Math.floor(best.length / 3)) ? `; did you mean "${best}"?` : '';
}

/** Looks `key` up as an own property only: `toString` or `__proto__` never resolve. */
export function ownEntry<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The declared keys of `specs` in their command-line spelling. */
export function optionKeys(specs: OptionSpecs): string[] {
  return Object.keys(specs).map(toKebab);
}

/** Whether `specs` declares `key` (in either spelling). */
export function declares(specs: OptionSpecs, key: string): boolean {
  return ownEntry(specs, toCamel(key)) !== undefined;
}

/**
 * Every declared option with its value: given values parsed against their spec, defaults for the
 * rest. `owner` names who declared them in messages ("approach ctq"). Throws on an unknown key or a
 * value its spec refuses, naming the key and what is valid.
 */
export function parseOptionValues<S extends OptionSpecs>(
  owner: string,
  specs: S,
  given: Readonly<Record<string, OptionValue>>,
): OptionValues<S> {
  const values: Record<string, OptionValue> = {};
  for (const [key, spec] of Object.entries(specs)) values[key] = spec.default;
  for (const [rawKey, raw] of Object.entries(given)) {
    const key = toCamel(rawKey);
    const spec = ownEntry(specs, key);
    if (!spec) {
      const valid = optionKeys(specs);
      throw new Error(
        `${owner} has no option "${toKebab(key)}"${didYouMean(toKebab(key), valid)} ` +
          (valid.length ? `(valid options: ${valid.join(', ')})` : '(it takes no options)'),
      );
    }
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success)
      throw new Error(`option ${toKebab(key)} of ${owner} must be ${spec.type}; got "${String(raw)}"`);
    values[key] = parsed.data;
  }
  return values as OptionValues<S>;
}

/** One line per option for help text: "  models-in  files | db (default files): where ...". */
export function describeOptions(specs: OptionSpecs, indent = '  '): string[] {
  return Object.entries(specs).map(
    ([key, spec]) => `${indent}${toKebab(key)}=<${spec.type}> (default ${String(spec.default)}): ${spec.help}`,
  );
}
