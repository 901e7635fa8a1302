import { describe, expect, it } from 'vitest';
import type { ArgumentRule } from '../api/types.js';
import { inspectUrl } from './ssrf.js';

const rule = (r: Omit<ArgumentRule, 'kind'>): ArgumentRule => ({ kind: 'url', ...r });
const ruleOf = (value: string, r?: ArgumentRule): string | undefined => inspectUrl(value, r)?.rule;

describe('inspectUrl: blocked addresses in every spelling', () => {
  it.each([
    ['http://169.254.169.254/', 'ssrf-metadata'],
    ['http://169.254.169.254/latest/meta-data/', 'ssrf-metadata'],
    ['http://[fd00:ec2::254]/latest/', 'ssrf-metadata'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'ssrf-metadata'],
    ['http://metadata/computeMetadata/v1/', 'ssrf-metadata'],
    ['http://100.100.100.200/latest/meta-data', 'ssrf-metadata'],
    ['http://169.254.170.2/v2/credentials', 'ssrf-metadata'],
    // IPv4 spellings of 169.254.169.254 and 127.0.0.1
    ['http://2852039166/', 'ssrf-metadata'],
    ['http://0xA9FEA9FE/', 'ssrf-metadata'],
    ['http://0251.0376.0251.0376/', 'ssrf-metadata'],
    ['http://0251.00376.000251.0000376/', 'ssrf-metadata'],
    ['http://169.254.43518/', 'ssrf-metadata'],
    ['http://169.16689662/', 'ssrf-metadata'],
    ['http://0xa9.0xfe.0xa9.0xfe/', 'ssrf-metadata'],
    ['http://[::ffff:169.254.169.254]/', 'ssrf-metadata'],
    ['http://[::ffff:a9fe:a9fe]/', 'ssrf-metadata'],
    ['http://2130706433/', 'ssrf-private-address'],
    ['http://0177.0.0.1/', 'ssrf-private-address'],
    ['http://0x7f.1/', 'ssrf-private-address'],
    ['http://127.1/', 'ssrf-private-address'],
    ['http://0x7f.0.0.1/', 'ssrf-private-address'],
    ['http://017700000001/', 'ssrf-private-address'],
    ['http://127.0.0.1./', 'ssrf-private-address'],
    ['http://%31%32%37.0.0.1/', 'ssrf-private-address'],
    ['http://１２７．０．０．１/', 'ssrf-private-address'],
    ['http://[::1]/', 'ssrf-private-address'],
    ['http://[::]/', 'ssrf-private-address'],
    ['http://[::ffff:127.0.0.1]/', 'ssrf-private-address'],
    ['http://[::ffff:7f00:1]/', 'ssrf-private-address'],
    ['http://[0:0:0:0:0:ffff:127.0.0.1]/', 'ssrf-private-address'],
    ['http://[::127.0.0.1]/', 'ssrf-private-address'],
    ['http://[64:ff9b::7f00:1]/', 'ssrf-private-address'],
    ['http://[2002:7f00:1::]/', 'ssrf-private-address'],
    ['http://[fe80::1%25eth0]/', 'ssrf-private-address'],
    ['http://[fc00::1]/', 'ssrf-private-address'],
    ['http://[ff02::1]/', 'ssrf-private-address'],
    ['http://0.0.0.0/', 'ssrf-private-address'],
    ['http://0/', 'ssrf-private-address'],
    ['http://10.0.0.1/', 'ssrf-private-address'],
    ['http://172.16.5.4/', 'ssrf-private-address'],
    ['http://192.168.1.1/', 'ssrf-private-address'],
    ['http://100.64.0.1/', 'ssrf-private-address'],
    ['http://169.254.1.1/', 'ssrf-private-address'],
    ['http://224.0.0.1/', 'ssrf-private-address'],
    ['http://255.255.255.255/', 'ssrf-private-address'],
    ['http:127.0.0.1/', 'ssrf-private-address'],
    ['127.0.0.1:8080/admin', 'ssrf-private-address'],
    ['//127.0.0.1/admin', 'ssrf-private-address'],
  ])('%s → %s', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it.each([
    ['http://localhost/', 'ssrf-internal-host'],
    ['http://LOCALHOST./', 'ssrf-internal-host'],
    ['http://api.localhost/', 'ssrf-internal-host'],
    ['http://printer.local/', 'ssrf-internal-host'],
    ['http://db.internal/', 'ssrf-internal-host'],
    ['http://kubernetes.default.svc/', 'ssrf-internal-host'],
    ['http://kubernetes.default.svc.cluster.local/api', 'ssrf-internal-host'],
    ['http://redis.prod.svc.cluster.local:6379/', 'ssrf-internal-host'],
    ['http://redis:6379/', 'ssrf-internal-host'],
    ['http://127.0.0.1.nip.io/', 'ssrf-internal-host'],
    ['http://app.10.0.0.1.sslip.io/', 'ssrf-internal-host'],
    ['http://localtest.me/', 'ssrf-internal-host'],
    ['http://x.lvh.me/', 'ssrf-internal-host'],
    ['http://127.0.0.1.attacker.example/', 'ssrf-internal-host'],
    ['http://10-0-0-1.attacker.example/', 'ssrf-internal-host'],
    ['https://localh.st:8443/latest/meta-data/', 'ssrf-internal-host'],
    ['http://magic-127-0-0-1.nip.io/', 'ssrf-internal-host'],
    ['http://vault.service.consul:8200/', 'ssrf-internal-host'],
    ['http://metadata.tencentyun.com/latest/meta-data/', 'ssrf-metadata'],
  ])('%s → %s', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });
});

describe('inspectUrl: parser confusion is refused', () => {
  it.each([
    ['http://allowed.example@evil.example/', 'ssrf-userinfo'],
    ['http://user:pass@example.com/', 'ssrf-userinfo'],
    ['http://127.1.1.1:80\\@127.2.2.2:80/', 'ssrf-parser-confusion'],
    ['http://example.com\\@169.254.169.254/', 'ssrf-parser-confusion'],
    ['http://exa mple.com/', 'ssrf-malformed-url'],
    ['http://example.com/\tx', 'ssrf-malformed-url'],
    [' http://example.com/', 'ssrf-malformed-url'],
    ['http://example.com/%0d%0aHost:%20x', 'ssrf-crlf'],
    ['http://[::1/', 'ssrf-invalid-host'],
    ['http://1.2.3.4.5/', 'ssrf-invalid-host'],
    ['http://7147006462/', 'ssrf-invalid-host'],
    ['http://0x41414141A9FEA9FE/', 'ssrf-invalid-host'],
    ['http://256.1.1.1/', 'ssrf-invalid-host'],
    ['http://example.com:99999/', 'ssrf-invalid-host'],
    ['http://example.com:port/', 'ssrf-invalid-host'],
    ['http:///', 'ssrf-invalid-host'],
    ['http://a..b/', 'ssrf-invalid-host'],
  ])('%s → %s', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it('names the detector and does not echo the URL', () => {
    const url = `http://169.254.169.254/latest/meta-data/iam/security-credentials/${'x'.repeat(100)}`;
    const f = inspectUrl(url, undefined);
    expect(f?.detector).toBe('ssrf');
    expect(f?.message).toContain('169.254.169.254');
    expect(f?.message).not.toContain(url);
    expect(f?.excerpt.length).toBeLessThanOrEqual(64);
  });
});

describe('inspectUrl: schemes and host lists', () => {
  it.each(['file:///etc/passwd', 'gopher://127.0.0.1:6379/_x', 'dict://x:11211/', 'tftp://example.com/x', 'sftp://example.com/x', 'jar:http://x!/', 'javascript:alert(1)', 'ldap://x/'])(
    'default schemes refuse %s',
    (value) => {
      expect(ruleOf(value)).toBe('ssrf-scheme');
    },
  );

  it('WebSocket URLs follow the same host rules as http by default', () => {
    expect(ruleOf('wss://stream.example.com:9443/ws/ticker')).toBeUndefined();
    expect(ruleOf('ws://chat.example.org/socket?room=1')).toBeUndefined();
    expect(ruleOf('ws://127.0.0.1:9229/inspector')).toBe('ssrf-private-address');
    expect(ruleOf('wss://metadata.google.internal/')).toBe('ssrf-metadata');
    expect(ruleOf('wss://user@stream.example.com/')).toBe('ssrf-userinfo');
    expect(ruleOf('ws://example.com/', rule({ schemes: ['https'] }))).toBe('ssrf-scheme');
  });

  it('ftp URLs to public hosts pass by default and follow the host rules', () => {
    expect(ruleOf('ftp://ftp.gnu.org/gnu/tar/tar-1.35.tar.xz')).toBeUndefined();
    expect(ruleOf('ftp://ftp.debian.org/debian/README')).toBeUndefined();
    expect(ruleOf('ftp://127.0.0.1:21/etc/passwd')).toBe('ssrf-private-address');
    expect(ruleOf('ftp://0xa9fea9fe/latest/meta-data/')).toBe('ssrf-metadata');
    expect(ruleOf('ftp://anonymous:x@ftp.example.org/pub/')).toBe('ssrf-userinfo');
    expect(ruleOf('ftp://ftp.example.org/pub', rule({ schemes: ['https'] }))).toBe('ssrf-scheme');
  });

  it('rule.schemes overrides the default', () => {
    const httpsOnly = rule({ schemes: ['https'] });
    expect(ruleOf('http://example.com/', httpsOnly)).toBe('ssrf-scheme');
    expect(ruleOf('https://example.com/', httpsOnly)).toBeUndefined();
    expect(ruleOf('ftp://example.com/pub', rule({ schemes: ['ftp'] }))).toBeUndefined();
  });

  it('applies the host allowlist and denylist', () => {
    const r = rule({ allow: ['api.example.com', '*.githubusercontent.com'], deny: ['evil.githubusercontent.com'] });
    expect(ruleOf('https://api.example.com/v1', r)).toBeUndefined();
    expect(ruleOf('https://raw.githubusercontent.com/a/b', r)).toBeUndefined();
    expect(ruleOf('https://a.b.githubusercontent.com/x', r)).toBeUndefined();
    expect(ruleOf('https://evil.githubusercontent.com/x', r)).toBe('ssrf-host-not-allowed');
    expect(ruleOf('https://example.org/', r)).toBe('ssrf-host-not-allowed');
    expect(ruleOf('https://API.EXAMPLE.COM./v1', r)).toBeUndefined();
  });

  it('an exact allow entry opens an internal host, never a metadata endpoint', () => {
    const r = rule({ allow: ['billing.internal', 'metadata.google.internal'] });
    expect(ruleOf('http://billing.internal/api', r)).toBeUndefined();
    expect(ruleOf('http://metadata.google.internal/', r)).toBe('ssrf-metadata');
    expect(ruleOf('http://db.internal/', rule({ allow: ['*.internal'] }))).toBe('ssrf-internal-host');
  });
});

describe('inspectUrl: public URLs pass', () => {
  it.each([
    'https://github.com/modelcontextprotocol/servers',
    'https://www.postgresql.org/docs/current/app-initdb.html',
    'http://example.com:80',
    'https://example.com/search?q=a+b&page=2#results',
    'https://www.freedesktop.org/software/systemd/man/latest/systemctl.html#is-enabled%20UNIT%E2%80%A6',
    'https://8.8.8.8/dns-query',
    'https://[2001:4860:4860::8888]/',
    'https://bücher.example/',
    'https://ec2-54-1-2-3.compute-1.amazonaws.com/',
    'https://www.npmjs.com/package/@scope/pkg',
    'example.com/path',
    // The wildcard-DNS services' own sites are public; only names under them embed an address.
    'https://nip.io/',
    'https://sslip.io/',
    // Public neighbours of blocked ranges.
    'https://172.32.0.1/',
    'https://100.128.0.1/',
    'https://169.255.0.1/',
    'https://www.consul.io/docs',
    // An escaped newline in the query is data the client sends escaped (pre-filled issue bodies).
    'https://github.com/o/r/issues/new?body=line1%0D%0Aline2',
    'https://example.com/search?q=a%0Ab#x%0a',
  ])('%s', (value) => {
    expect(inspectUrl(value, undefined)).toBeUndefined();
  });
});

describe('inspectUrl: a second "@" authority after the host', () => {
  it('refuses what a last-"@" parser would fetch, and keeps ordinary "@" in paths and queries', () => {
    expect(ruleOf('http://good.example#@127.0.0.1/')).toBe('ssrf-parser-confusion');
    expect(ruleOf('http://good.example/?x=@169.254.169.254')).toBe('ssrf-parser-confusion');
    expect(ruleOf('https://www.npmjs.com/package/@scope/pkg')).toBeUndefined();
    expect(ruleOf('https://example.com/?email=a@b.example')).toBeUndefined();
  });
});

describe('inspectUrl: code points that IDNA maps to nothing inside the host', () => {
  // UTS #46 drops default-ignorable code points, so a WHATWG client fetches the host without them.
  it.each([
    ['http://172.16.9.9%E2%80%8B/', 'ssrf-private-address'],
    ['http://10.20.30.40%C2%AD:8080/', 'ssrf-private-address'],
    ['http://admin.local\u00adhost/', 'ssrf-internal-host'],
    ['http://db.loc\ufeffalhost:5432/', 'ssrf-internal-host'],
    ['https://metadata.google.internal\u2060/computeMetadata/v1/', 'ssrf-metadata'],
    ['http://169.254.169.254%EF%B8%8F/latest/', 'ssrf-metadata'],
    ['http://lvh\u034f.me/', 'ssrf-internal-host'],
    ['http://app.ssl\u200bip.io/', 'ssrf-internal-host'],
  ])('%s → %s', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it.each(['https://exa\u00admple.com/', 'https://www.example.com/soft%C2%ADhyphen', 'https://b\u00fccher.example/', 'https://caf\u00e9.example/men\u00fc'])(
    'public host or ignorable outside the host passes: %s',
    (value) => {
      expect(inspectUrl(value, undefined)).toBeUndefined();
    },
  );
});

describe('inspectUrl: cloud platform endpoints at public-range addresses', () => {
  it('Azure WireServer 168.63.129.16 is a metadata endpoint in every spelling; its neighbours are public', () => {
    expect(ruleOf('http://168.63.129.16/machine/?comp=goalstate')).toBe('ssrf-metadata');
    expect(ruleOf('http://2822734096:32526/vmSettings')).toBe('ssrf-metadata');
    expect(ruleOf('http://[::ffff:a83f:8110]/')).toBe('ssrf-metadata');
    expect(ruleOf('https://168.63.129.17/')).toBeUndefined();
    expect(ruleOf('https://168.63.128.16/')).toBeUndefined();
  });
});

describe('inspectUrl: "@" followed by a version pin in the path', () => {
  it.each([
    'https://unpkg.com/some-lib@7/dist/index.js',
    'https://cdn.jsdelivr.net/npm/some-lib@0.3.2/dist/x.js',
    'https://esm.sh/some-lib@10.1.5',
    'https://cdn.example/pkg@12/a.js',
    'https://cdn.example/pkg@0/a.js',
  ])('a CDN package URL passes: %s', (value) => {
    expect(inspectUrl(value, undefined)).toBeUndefined();
  });

  it.each([
    'http://good.example/p@10.1.2.3/',
    'http://good.example/x@3232235777/',
    'http://good.example/x@[::1]/',
    'http://good.example/x@localhost:8080/',
    'http://good.example#@0/',
    'http://good.example?@127.1/',
  ])('an address after "@" is still refused: %s', (value) => {
    expect(ruleOf(value)).toBe('ssrf-parser-confusion');
  });
});

describe('inspectUrl: names that resolve to an internal address by construction', () => {
  it.each([
    ['http://pin-10.1.2.3.dns-pinning.example/', 'ssrf-internal-host'],
    ['http://race-169.254.169.254.rebind.example/latest/', 'ssrf-internal-host'],
    ['http://a-8.8.8.8-192.168.0.7-1700000000-fs.rebind.example/', 'ssrf-internal-host'],
    ['http://127.0-0.1.mixed.example/', 'ssrf-internal-host'],
    ['http://shop.ddev.site/', 'ssrf-internal-host'],
    ['http://blog.lndo.site:8080/', 'ssrf-internal-host'],
    ['http://demo.localdev.me/', 'ssrf-internal-host'],
    ['https://app.localhost.direct/', 'ssrf-internal-host'],
  ])('%s → %s', (value, expected) => {
    expect(ruleOf(value)).toBe(expected);
  });

  it.each([
    'https://ec2-54-1-2-3.compute-1.amazonaws.com/',
    'https://pin-8.8.4.4.dns-pinning.example/',
    'https://v2023-10-01-12.builds.example/',
    'https://release-10.2.3.example/notes',
    'https://node-1-2.example-10.net/',
    'https://ddev.site/',
    'https://docs.ddev.site.example.org/',
  ])('public look-alike passes: %s', (value) => {
    expect(inspectUrl(value, undefined)).toBeUndefined();
  });
});
