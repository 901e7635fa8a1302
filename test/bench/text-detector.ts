/**
 * Benchmark (not a test): CPU time of the prompt-injection `text` inspector on 1 MB strings
 * made of one repeated adversarial unit each (best of five after warm-up), worst first, plus
 * plain prose. The shapes are those of authz/detectors/sql-prompt.linear.test.ts and more
 * aimed at each marker path: every rule's first characters, mixed case, case-folding and
 * non-ASCII letters, surrogates, and invisible characters every other character.
 * Run: node --import tsx test/bench/text-detector.ts [filter]
 */
import { INJECTION_PHRASES, inspectText } from '../../authz/detectors/prompt.js';

const MB = 1 << 20;
const fill = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

/** ADVERSARIAL of the linear-time test. */
const ADVERSARIAL = [
  'a ', "'", '"', "a'b\"c\\ ", '(', ')', '/*', '*/', '-- \n', '#', '%25', '%2527', '+', '=<', '1 ', '@a ', '@@', 'union ', "' or ",
  'select ', '; ', '\\', '`', '<', '<a', '[sys', '\n##', 'ignore ', 'call the ', 'not tell ', 'x\u200b', '\u{E0041}', 'http://', 'h ', 'ftp ', 'a@b.c ',
];

/** TEXT_ADVERSARIAL of the linear-time test. */
const TEXT_ADVERSARIAL = [
  '[', '#', '\n#', '\n## ', '\n###  sys', '<<', '<s', '<S', '<sys', '<system', '[inst', '<|im_', '<|', '[ ', '< ', '|', '/', 'a', 'a@', 'A@',
  'a@b', 'a@b.', 'http:/', 'ftp:', ':', ' : ', 'a_b ', "'", '\u2019', '\u00ad', '\u200d', 'ignore previous ', 'IgNoRe all ', 'you are now ',
  'not ', 'send ', 'send data ', 'before ', 'secretly ', 'the user ', 'without ', 'developer mode ', 'system prompt ', 'new ', 'reveal your ',
  '   ', '\n\n\n', ' \n', '#\n', '<a<b[c#d@e:f ', '[s s s s s s s s s s s s', 'a-b ',
];

/** Further shapes: marker characters before near-miss tag bodies, every path's first characters. */
const MORE = [
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
    INJECTION_PHRASES.flatMap((r) => {
      const first = (r.pattern.split(' ')[0] as string).split('|');
      return first.flatMap((w) => [w.slice(0, 2), `${w} `]);
    }),
  ),
];

const PROSE =
  'The quarterly report covers revenue, churn and the hiring plan for the platform team. ' +
  'Please summarise the key risks, list the open questions for finance, and draft a reply to the customer about the delayed invoice. ' +
  'Numbers are in EUR; see https://example.com/q3 and mail ops@example.com if anything is missing.\n';

function cpuMs(fn: () => unknown): number {
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

const filter = process.argv[2];
const units = [...new Set([...ADVERSARIAL, ...TEXT_ADVERSARIAL, ...MORE])].filter((u) => filter === undefined || u.includes(filter));
const rows: Array<[string, number, string]> = [];
for (const unit of units) {
  const value = fill(unit, MB);
  const rule = inspectText(value, undefined)?.rule ?? '-';
  rows.push([JSON.stringify(unit), cpuMs(() => inspectText(value, undefined)), rule]);
}
rows.sort((a, b) => b[1] - a[1]);
const prose = fill(PROSE, MB);
console.log(`1 MB strings, best of 5 CPU ms after warm-up, ${units.length} shapes, worst first`);
console.log(`${'plain prose'.padEnd(36)} ${cpuMs(() => inspectText(prose, undefined)).toFixed(2).padStart(7)} ms  ${inspectText(prose, undefined)?.rule ?? '-'}`);
for (const [unit, ms, rule] of rows) console.log(`${unit.padEnd(36)} ${ms.toFixed(2).padStart(7)} ms  ${rule}`);
