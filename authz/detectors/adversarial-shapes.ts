/**
 * Hostile inputs for the detectors' linear-time tests and the text-detector benchmark
 * (test/bench/text-detector.ts): 1 MB strings made of one repeated unit, and the CPU-time
 * measure they are held to. Kept in one place so that the tests bound exactly the shapes the
 * benchmark prints.
 */
import { INJECTION_PHRASES, TEXT_PHRASES } from './prompt.js';

export const MB = 1 << 20;

/** `unit` repeated and cut to `size` characters. */
export function fill(unit: string, size: number): string {
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/**
 * CPU milliseconds of one call, best of five after three warm-up calls: CPU time rather than
 * wall time, and the best run, because the machine is shared.
 */
export function cpuMs(fn: () => unknown): number {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = process.cpuUsage();
    fn();
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

export interface Growth {
  /** CPU ms at a quarter of the size, and at the full size. */
  readonly small: number;
  readonly large: number;
  /** `"unit": small → large ms`, for assertion messages. */
  readonly label: string;
}

/**
 * CPU time of `inspect` on `unit` repeated to a quarter of `max` characters and to `max`:
 * a linear scan grows ×4, a quadratic one ×16. The two sizes are timed alternately (best of
 * seven each, after warm-up), so both run on the same optimised code: timed one after the
 * other, a re-optimisation between them alone could look like ×13.
 */
export function growth(inspect: (value: string) => unknown, unit: string, max: number): Growth {
  const small = fill(unit, max / 4);
  const large = fill(unit, max);
  for (let i = 0; i < 3; i++) {
    inspect(small);
    inspect(large);
  }
  let tSmall = Infinity;
  let tLarge = Infinity;
  const time = (value: string): number => {
    const start = process.cpuUsage();
    inspect(value);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  for (let i = 0; i < 7; i++) {
    tSmall = Math.min(tSmall, time(small));
    tLarge = Math.min(tLarge, time(large));
  }
  return { small: tSmall, large: tLarge, label: `${JSON.stringify(unit)}: ${tSmall.toFixed(3)} → ${tLarge.toFixed(3)} ms` };
}

/** Path, shell, command and url values, by name. */
export const PATH_SHELL_URL_ADVERSARIAL: Readonly<Record<string, string>> = {
  "'%25' repeated": '%25',
  "'%2525' repeated": '%2525',
  "'%c0%ae' repeated": '%c0%ae',
  "'%u002e' repeated": '%u002e',
  "'../' repeated": '../',
  "'$(' repeated": '$(',
  'nested quotes': `'"\\'"`,
  'backslashes': '\\',
  "'\\$' repeated": '\\$',
  "'{a,' repeated": '{a,',
  "'()' repeated": '()',
  "'a/' repeated": 'a/',
  "'.?' repeated": '.?',
  'fullwidth dots': '．',
};

/** Units aimed at the sql, sql-fragment and text inspectors alike. */
export const ADVERSARIAL: readonly string[] = [
  'a ', "'", '"', "a'b\"c\\ ", '(', ')', '/*', '*/', '-- \n', '#', '%25', '%2527', '+', '=<', '1 ', '@a ', '@@', 'union ', "' or ",
  'select ', '; ', '\\', '`', '<', '<a', '[sys', '\n##', 'ignore ', 'call the ', 'not tell ', 'x\u200b', '\u{E0041}', 'http://', 'h ', 'ftp ', 'a@b.c ',
];

/**
 * Units aimed at the text inspector: every marker character (alone, doubled, before a
 * tag's first letters), `#` at every line start, a word before every `@`, every word that
 * ends or starts a phrase rule repeated, mixed case, long runs of spaces and newlines.
 */
export const TEXT_ADVERSARIAL: readonly string[] = [
  '[', '#', '\n#', '\n## ', '\n###  sys', '<<', '<s', '<S', '<sys', '<system', '[inst', '<|im_', '<|', '[ ', '< ', '|', '/', 'a', 'a@', 'A@',
  'a@b', 'a@b.', 'http:/', 'ftp:', ':', ' : ', 'a_b ', "'", '\u2019', '\u00ad', '\u200d', 'ignore previous ', 'IgNoRe all ', 'you are now ',
  'not ', 'send ', 'send data ', 'before ', 'secretly ', 'the user ', 'without ', 'developer mode ', 'system prompt ', 'new ', 'reveal your ',
  '   ', '\n\n\n', ' \n', '#\n', '<a<b[c#d@e:f ', '[s s s s s s s s s s s s', 'a-b ',
  // Near-miss tag bodies, markers before markers, every path's first characters, case
  // folding outside ASCII, invisible characters every other character, and words that start
  // or end rules densely (the slowest shapes of the benchmark).
  '<abc>', '<<sys', '<|x|', '<system_', '<SySt', '[system ', '[INST', '\n## System', '\n####    ', '<ſ', '<\u212a', 'f:', 'a_b@c', 'h:/',
  '\ud800a', '\u{10000}a', '\u{1F600}\u200d', '\u200d\u{1F600}', 'ｉｇｎｏｒｅ ', 'the user must not ', 'without the user ', 'a the ',
  'you are ', 'send data to ', 'from now on ', 'hide ', 'dan ', 'tha ', 'you ', 'the ', 'god ', 'copy ', 'call ',
  // Text-only rules: forged turns, personas, banners, wrappers.
  'assistant: ', 'assistant : x ', 'user: ', 'act as ', 'pretend to be a ', 'before you ', 'ignore the rest ', 'admin override ',
  'important ', 'encoded summary ', '<information>', '[system_message', '###(system_message)', '<end of ', 'a.b-c+d@e ',
];

/** More units for the benchmark: marker characters before near-miss tag bodies, every path's first characters. */
export const TEXT_BENCH_MORE: readonly string[] = [
  // Tag markers: near-miss bodies of every length, mixed case, doubled markers.
  '<S<y', '<Sy', '<SYS', '<sYsTeM', '<system_', '<systemx', '<system ', '<system_prompt_x', '<<S', '<<sys', '<<SYS>', '<|i', '<|im_start', '<|x|',
  '</', '</s', '</system', '<i', '<h', '<a ', '<a>', '<abc>', '<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '[I', '[INST', '[s', '[sy', '[system ', '[SYSTEM O',
  '[system override', '[a]', '[[', '[<', '<[', '[#', '#[', '#<', '\n##s', '\n## System', '\n####    ', '\n##\n', '##', '###', '\n#a',
  '<ı', '<ſ', '<\u212a', '<é', '[\u0130',
  // Words: e-mail, URL and identifier paths.
  '@', 'a@a', 'a@.', 'x@y-', 'a_b@c', '_', 'a_', 'h', 'H', 'f', 'F', 'ht', 'http', 'HTTP:/', 'https:', 'https:/x', 'h:/', 'f:', 'ftp:/ ',
  'http://x ', 'a:', 'a:b', 'a.b@c.d ',
  // Phrase-rule words, dense and in mixed case.
  'ignore ignore ', 'IGNORE ', 'the the ', 'the ', 'you ', 'you are ', 'you are no ', 'not tell the ', 'send data to ', 'send password ',
  'call the ', 'call the tool ', 'a an ', 'secretly send ', 'god ', 'mode ', 'developer ', 'instructions ', 'instructions : ',
  'new instructions ', 'from now on ', 'from now ', 'hide from the ', 'keep ', 'without the user ', 'before using this ', 'always call ',
  'reveal the system ', 'send data ', 'the user must not ', 'system ', 'prompt ', 'to ', 'ignore all ', "don't ", 'don\u2019t ', 'dont ',
  'user\u2019s ', 'exfil', 'tool ', 'a the ', 'your user ',
  // Letters outside ASCII, case folding, surrogates.
  'é', 'ä ', '\u0130', 'ı', 'ſ', '\u212a', 'ｉｇｎｏｒｅ ', 'Ⅰ', 'ß', '\u{1F600}', '\u{1D400}', '\u{10000}a', '\ud800', '\udc00', '\ud800a',
  // Invisible characters every other character, and near misses.
  'a\u200b', 'a\u200d', '\u{1F600}\u200d', '\u200d\u{1F600}', 'a\u00ad', '\u{E0041}a', '\ufeff', 'a\ufeff', '\u2060', '\u202e', '\u00ac', '\u00ae',
  'a\u00a0', '\u3000',
  // Every rule's first characters, and its first word repeated.
  ...new Set(
    [...INJECTION_PHRASES, ...TEXT_PHRASES].flatMap((r) => {
      const first = (r.pattern.split(' ')[0] as string).split('|');
      return first.flatMap((w) => [w.slice(0, 2), `${w} `]);
    }),
  ),
];
