// Declared options: typed values, defaults, ranges, and errors that name the key and what is valid.
import { describe, expect, it } from 'vitest';
import {
  booleanOption,
  choiceOption,
  describeOptions,
  integerOption,
  ownEntry,
  parseOptionValues,
  stringOption,
  toCamel,
  toKebab,
} from '../../src/core/options.js';

const SPECS = {
  modelsIn: choiceOption(['files', 'db'], 'files', 'where models live'),
  cache: booleanOption(true, 'keep buffers'),
  workers: integerOption({ min: 1, max: 8 }, 2, 'worker count'),
  store: stringOption('', 'a directory'),
} as const;

describe('declared options', () => {
  it('fills defaults and parses values from the command line into their types', () => {
    expect(parseOptionValues('approach x', SPECS, {})).toEqual({
      modelsIn: 'files',
      cache: true,
      workers: 2,
      store: '',
    });
    const parsed = parseOptionValues('approach x', SPECS, {
      'models-in': 'db',
      cache: 'off',
      workers: '8',
      store: '/tmp/m',
    });
    expect(parsed).toEqual({ modelsIn: 'db', cache: false, workers: 8, store: '/tmp/m' });
  });

  it('accepts the values run.json stores (typed) as well as strings', () => {
    expect(parseOptionValues('approach x', SPECS, { cache: false, workers: 3 })).toMatchObject({
      cache: false,
      workers: 3,
    });
  });

  it('refuses an unknown key, naming it, suggesting the close one, and listing the valid ones', () => {
    expect(() => parseOptionValues('approach ctq', SPECS, { 'modles-in': 'db' })).toThrow(
      'approach ctq has no option "modles-in"; did you mean "models-in"? (valid options: models-in, cache, ' +
        'workers, store)',
    );
    expect(() => parseOptionValues('approach udaf', {}, { nosuch: '1' })).toThrow(
      'approach udaf has no option "nosuch" (it takes no options)',
    );
  });

  it('refuses values outside the type or range, saying what is allowed', () => {
    expect(() => parseOptionValues('approach x', SPECS, { modelsIn: 'dbb' })).toThrow(
      'option models-in of approach x must be files | db; got "dbb"',
    );
    expect(() => parseOptionValues('approach x', SPECS, { workers: '0' })).toThrow('must be integer 1..8; got "0"');
    expect(() => parseOptionValues('approach x', SPECS, { workers: '2.5' })).toThrow('must be integer 1..8');
    expect(() => parseOptionValues('approach x', SPECS, { cache: 'maybe' })).toThrow('must be boolean');
  });

  it('never resolves inherited properties as keys', () => {
    expect(() => parseOptionValues('approach x', SPECS, { toString: '1' })).toThrow('has no option "to-string"');
    expect(ownEntry({ a: 1 }, 'toString')).toBeUndefined();
    expect(ownEntry({ a: 1 }, '__proto__')).toBeUndefined();
  });

  it('spells keys in kebab-case for users and camelCase for code', () => {
    expect(toKebab('modelsIn')).toBe('models-in');
    expect(toCamel('models-in')).toBe('modelsIn');
    expect(describeOptions(SPECS)[0]).toBe('  models-in=<files | db> (default files): where models live');
  });
});
