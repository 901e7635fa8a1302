import { describe, expect, it } from 'vitest';
import type { ArgumentRule } from '../api/types.js';
import { compilePathRule, inspectPath, inspectPathCompiled } from './path.js';

const rule = (r: Omit<ArgumentRule, 'kind'>): ArgumentRule => ({ kind: 'path', ...r });

describe('inspectPath: traversal in every spelling', () => {
  it.each([
    ['../../../../etc/passwd', 'path-traversal'],
    ['docs/../../secret', 'path-traversal'],
    ['..\\..\\windows\\win.ini', 'path-traversal'],
    ['%2e%2e%2fetc%2fpasswd', 'path-traversal'],
    ['%252e%252e%252fetc', 'path-traversal'],
    ['%25252e%25252e/etc', 'path-traversal'],
    ['..%c0%afetc%c0%afpasswd', 'path-traversal'],
    ['%c0%ae%c0%ae/etc/passwd', 'path-traversal'],
    ['%e0%80%ae%e0%80%ae/x', 'path-traversal'],
    ['%u002e%u002e/etc', 'path-traversal'],
    ['%uff0e%uff0e/etc', 'path-traversal'],
    ['．．／etc／passwd', 'path-traversal'],
    ['\u2024\u2024/etc', 'path-traversal'],
    ['..\u2215etc', 'path-traversal'],
    ['....//....//etc/passwd', 'path-traversal'],
    ['.../.../boot.ini', 'path-traversal'],
    ['/..;/admin', 'path-traversal'],
    ['.. /x', 'path-traversal'],
    ['..%01/etc', 'path-traversal'],
    ['0x2e0x2e0x2fetc', 'path-traversal'],
    ['.?\\.?\\etc\\issue', 'path-traversal'],
    // HTML character references and C/JSON string escapes a templating or unescaping layer decodes.
    ['&#46;&#46;/etc/passwd', 'path-traversal'],
    ['images/&#x2e;&#x2e;&#x2f;&#x2e;&#x2e;&#x2f;windows/win.ini', 'path-traversal'],
    ['&period;&period;&sol;secret', 'path-traversal'],
    ['%26%2346;%26%2346;/etc', 'path-traversal'],
    ['\\u002e\\u002e/etc/passwd', 'path-traversal'],
    ['\\x2e\\x2e\\x2fapp/config.yml', 'path-traversal'],
  ])('%s → %s', (value, expected) => {
    expect(inspectPath(value, undefined)?.rule).toBe(expected);
  });

  it('reports the detector and never echoes a long value', () => {
    const value = `reports/${'x'.repeat(200)}/../../../etc/passwd`;
    const f = inspectPath(value, undefined);
    expect(f?.detector).toBe('pathTraversal');
    expect(f?.message).toContain('dot-dot');
    expect(f?.message).not.toContain(value);
    expect(f?.excerpt.length).toBeLessThanOrEqual(64);
  });
});

describe('inspectPath: NUL, encodings, wrappers, sensitive roots', () => {
  it.each([
    ['/var/www/file.php%00.jpg', 'path-nul-byte'],
    ['report.pdf\u0000.txt', 'path-nul-byte'],
    ['etc/passwd\\x00', 'path-nul-byte'],
    ['a\\0', 'path-nul-byte'],
    ['docs/%c0%80x', 'path-nul-byte'], // overlong NUL ("modified UTF-8")
    ['docs/%c1%81x', 'path-overlong-utf8'],
    ['docs/%ff%fe', 'path-invalid-encoding'],
    ['docs/%u0041', 'path-nonstandard-encoding'],
    ['%2e%68%74%61%63%63%65%73%73', 'path-obfuscation'],
    ['./\\/./boot.ini', 'path-obfuscation'],
    ['/./././boot.ini', 'path-obfuscation'],
    [`${'A'.repeat(300)}/x`, 'path-too-long'],
    ['php://filter/convert.base64-encode/resource=index.php', 'path-wrapper'],
    ['file:///etc/passwd', 'path-wrapper'],
    ['expect://id', 'path-wrapper'],
    ['data:text/plain;base64,SGVsbG8=', 'path-wrapper'],
    ['zip://archive.zip#shell.php', 'path-wrapper'],
    ['phar://upload.jpg/x', 'path-wrapper'],
    ['/etc/passwd', 'path-sensitive-root'],
    ['/proc/self/environ', 'path-sensitive-root'],
    ['/sys/kernel/notes', 'path-sensitive-root'],
    ['/root/.bashrc', 'path-sensitive-root'],
    ['/var/log/auth.log', 'path-sensitive-root'],
    ['/dev/mem', 'path-sensitive-root'],
    ['/private/etc/hosts', 'path-sensitive-root'],
    ['~/.ssh/id_rsa', 'path-sensitive-root'],
    ['/home/alice/.aws/credentials', 'path-sensitive-root'],
    ['C:\\Windows\\System32\\config\\SAM', 'path-sensitive-root'],
    ['c:/inetpub/wwwroot/web.config', 'path-sensitive-root'],
    ['\\\\fileserver\\share\\x.txt', 'path-sensitive-root'],
    ['\\\\?\\C:\\x', 'path-sensitive-root'],
    ['/usr/local/apache2/conf/httpd.conf', 'path-sensitive-root'],
    ['/opt/lampp/logs/access_log', 'path-sensitive-root'],
    ['/usr/local/app/logs/error.log', 'path-sensitive-root'],
    ['/var/lib/app/secrets/key.pem', 'path-sensitive-root'],
    ['/.;/etc/passwd', 'path-sensitive-root'],
    ['/usr/share/nginx/html/index.html', 'path-sensitive-root'],
    ['/home/bob/public_html/wp-config.php', 'path-sensitive-root'],
    ['/srv/www/htdocs/index.php', 'path-sensitive-root'],
    ['%SYSTEMROOT%\\win.ini', 'path-sensitive-root'],
    ['C:\\PROGRA~1\\Apache\\conf\\httpd.conf', 'path-sensitive-root'],
    ['C:\\DOCUME~1\\ADMINI~1\\ntuser.dat', 'path-sensitive-root'],
    ['%SystemDrive%\\boot.ini', 'path-sensitive-root'],
    ['%HOMEPATH%\\.ssh\\id_rsa', 'path-sensitive-root'],
    // A control character (raw or encoded) is never part of a real file name.
    ['%0a/bin/cat%20/etc/passwd', 'path-control-character'],
    ['report\r\n.txt', 'path-control-character'],
  ])('%s → %s', (value, expected) => {
    expect(inspectPath(value, undefined)?.rule).toBe(expected);
  });
});

describe('inspectPath: benign paths pass without an allowlist', () => {
  it.each([
    '/data/public/report.pdf',
    './src/index.ts',
    'docs/a b.md',
    '~/Documents/x',
    "~/clients/O'Brien & Sons/50% discount flyer.pdf",
    'minutes/résumé.jpg',
    'C:\\Users\\alice\\Documents\\notes.txt',
    'path\\to\\file',
    '.github/workflows/ci.yml',
    '/usr/local/bin/python3',
    '/tmp/build.log',
    '/var/tmp/cache.db',
    'a..b/c...d.txt',
    '..hidden-but-not-parent',
    'path/to/chunk%%%.pdf',
    'photo (1).jpg',
    'C:\\data\\0day.txt',
    '//*/@id',
    // etc/logs directories of a project, not of the OS.
    '/workspace/deploy/etc/nginx/nginx.conf',
    '/home/alice/projects/app/logs/.gitkeep',
    '/data/public/rootfs/etc/hostname',
    // Ampersands and escapes that do not spell a dot or a separator.
    'clients/Rock &amp; Roll/&#38;invoice.pdf',
    'C:\\data\\x2e-report.txt',
    'tab\tseparated name.txt',
    // Server names outside OS trees, or as programs in bin/.
    '/usr/bin/php',
    '/srv/share/www/index.html',
    '/home/alice/projects/www/index.html',
    '/data/public/a;b/c.txt',
    '%SystemDrive%\\Users\\alice\\report.docx',
    '%APPDATA%\\Code\\User\\settings.json',
    'C:\\docs\\lsof\\00QUICKSTART.gz',
    'C:\\MYDOCU~1\\notes.txt',
    'C:\\data\\REPORT~1.PDF',
  ])('%s', (value) => {
    expect(inspectPath(value, undefined)).toBeUndefined();
  });
});

describe('path allow/deny globs (checked on the normalised path)', () => {
  const publicOnly = rule({ allow: ['/data/public/**'] });

  it('allows inside the root and refuses outside', () => {
    expect(inspectPath('/data/public/report.pdf', publicOnly)).toBeUndefined();
    expect(inspectPath('/data/private/x', publicOnly)?.rule).toBe('path-outside-allowlist');
    expect(inspectPath('/data/public/../private/x', publicOnly)?.rule).toBe('path-traversal');
  });

  it('normalises separators, look-alikes and encodings before matching', () => {
    expect(inspectPath('\\data\\public\\a.txt', publicOnly)).toBeUndefined();
    expect(inspectPath('/data//public/a.txt', publicOnly)).toBeUndefined();
    expect(inspectPath('%2fdata%2fprivate%2fx', publicOnly)?.rule).toBe('path-outside-allowlist');
    expect(inspectPath('/data／private/x', publicOnly)?.rule).toBe('path-outside-allowlist');
  });

  it('replaces the built-in sensitive list (the allowlist is the primary control)', () => {
    const etcApp = rule({ allow: ['/etc/myapp/**'] });
    expect(inspectPath('/etc/myapp/config.yaml', etcApp)).toBeUndefined();
    expect(inspectPath('/etc/shadow', etcApp)?.rule).toBe('path-outside-allowlist');
  });

  it('refuses absolute paths where the allowlist is relative', () => {
    const relative = rule({ allow: ['docs/**', 'src/**'] });
    expect(inspectPath('docs/guide.md', relative)).toBeUndefined();
    expect(inspectPath('/docs/guide.md', relative)?.rule).toBe('path-absolute');
    expect(inspectPath('C:\\docs\\guide.md', relative)?.rule).toBe('path-absolute');
    expect(inspectPath('lib/x.ts', relative)?.rule).toBe('path-outside-allowlist');
  });

  it('applies deny globs', () => {
    const r = rule({ allow: ['/data/**'], deny: ['/data/**/*.key', '/data/secret/**'] });
    expect(inspectPath('/data/a/b.txt', r)).toBeUndefined();
    expect(inspectPath('/data/a/server.key', r)?.rule).toBe('path-denied');
    expect(inspectPath('/data/secret/x', r)?.rule).toBe('path-denied');
  });

  it('compiles a rule once', () => {
    const r = rule({ allow: ['/a/**'] });
    expect(compilePathRule(r)).toBe(compilePathRule(r));
    expect(inspectPathCompiled('/a/b', compilePathRule(r))).toBeUndefined();
  });
});

describe('inspectPath: multi-dot glyphs', () => {
  it('reads the two-dot leader and the ellipsis as dots', () => {
    expect(inspectPath('\u2025/\u2025/etc/passwd', undefined)?.rule).toBe('path-traversal');
    expect(inspectPath('\\\u2026..\\x', undefined)?.rule).toBe('path-traversal');
  });
});

describe('inspectPath: held-out classes (names glued to dot-dot, device and UNC spellings, drive-less Windows roots)', () => {
  it.each([
    // A dot-dot glued to the end of a name still climbs once the server joins it to a base
    // without a separator, and `X:..` is the parent of the current directory on drive X.
    ['D:..\\Users\\Public\\payroll.xlsx', 'path-traversal'],
    ['cache../etc/shadow', 'path-traversal'],
    ['thumbs...\\win.ini', 'path-traversal'],
    ['E:..', 'path-traversal'],
    ['img%2e%2e%2fetc%2fpasswd', 'path-traversal'],
    // Win32 device paths and UNC hosts written with forward slashes, IPv6 hosts included.
    ['//?/D:/Windows/win.ini', 'path-sensitive-root'],
    ['//?/UNC/backup01/c$/x', 'path-sensitive-root'],
    ['//[::1]/c$/boot.ini', 'path-sensitive-root'],
    ['//fe80::1/share/report.txt', 'path-sensitive-root'],
    // Rooted but drive-less paths resolve against the current drive on Windows.
    ['\\Program Files\\Common Files\\system\\ole db\\oledb32.dll', 'path-sensitive-root'],
    ['/ProgramData/Microsoft/Crypto/RSA/MachineKeys/abc', 'path-sensitive-root'],
    ['\\inetpub\\wwwroot\\web.config', 'path-sensitive-root'],
    ['/xampp/htdocs/config.inc.php', 'path-sensitive-root'],
    ['\\PROGRA~2\\MySQL\\my.ini', 'path-sensitive-root'],
    // The "Program Files" tree without its space, and `$`-named system folders at a drive root.
    ['C:\\ProgramFiles\\Apache\\conf\\httpd.conf', 'path-sensitive-root'],
    ['C:\\$WinREAgent\\Scratch\\update.log', 'path-sensitive-root'],
    ['E:\\$Extend\\$UsnJrnl', 'path-sensitive-root'],
    // More web and database server installations.
    ['/opt/litespeed/conf/httpd_config.conf', 'path-sensitive-root'],
    ['/usr/local/lsws/conf/vhosts/shop/vhconf.conf', 'path-sensitive-root'],
    ['/usr/local/pgsql/data/pg_hba.conf', 'path-sensitive-root'],
  ])('%s → %s', (value, expected) => {
    expect(inspectPath(value, undefined)?.rule).toBe(expected);
  });

  it.each([
    'releases/v2..v3/changelog.md',
    'archive/2024…/scan.pdf',
    'Projects\\To do…\\list.txt',
    'notes/To be continued..',
    'drafts/Wait.. really.txt',
    '//title',
    '//a',
    '\\data\\public\\Program notes.txt',
    '/programs/list.txt',
    'C:\\Program Notes\\agenda.docx',
    'C:\\data\\$tmp\\export.csv',
    'C:\\Users\\alice\\Documents\\$budget 2024.xlsx',
    '/projects/xampp-migration/notes.md',
    '/workspace/litespeed-bench/results.csv',
    '/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh',
  ])('%s passes', (value) => {
    expect(inspectPath(value, undefined)).toBeUndefined();
  });
});

describe('inspectPath: backslash-separated paths whose names start with 0, x00 or x2f', () => {
  // Where the backslash is the separator (a drive, a UNC prefix, or a backslash that starts no
  // escape), `\0.9.2` is a folder named 0.9.2, not NUL text; a C-string layer would have
  // mangled `\U`, `\d` … of such a path long before.
  it.each([
    'D:\\data\\releases\\0.9.2\\CHANGELOG.md',
    'C:\\Users\\alice\\Documents\\tests\\0\\1.txt',
    'D:\\data\\fixtures\\000-empty.json',
    'C:\\Users\\alice\\Documents\\Scans\\0 (copy).pdf',
    'D:\\data\\x00-report.pdf',
    'D:\\data\\x2f-notes\\a.txt',
    'D:\\data\\u0000 gallery\\a.png',
    'tests\\0\\expected.txt',
  ])('%s passes', (value) => {
    expect(inspectPath(value, undefined)).toBeUndefined();
  });

  it.each([
    ['uploads/avatar.php\\0.png', 'path-nul-byte'],
    ['invoice.pdf\\x00.html', 'path-nul-byte'],
    ['\\x2e\\x2e\\x5cboot.ini', 'path-traversal'],
    ['C:\\inetpub\\wwwroot\\report.aspx%00.jpg', 'path-nul-byte'],
    ['D:\\data\\report.pdf\u0000.exe', 'path-nul-byte'],
  ])('%s → %s', (value, expected) => {
    expect(inspectPath(value, undefined)?.rule).toBe(expected);
  });
});

describe('inspectPath: /var and package state folders', () => {
  it.each([
    '/var/log',
    '/var/log/auth.log',
    '/var/spool/cron/crontabs/root',
    '/var/lib/mysql/mysql/user.MYD',
    '/var/mail/root',
    '/var/www/html/wp-config.php',
    '/usr/local/etc/php.ini',
    '/opt/lampp/logs/error_log',
    '/usr/local/apache2/logs/access_log',
    '/private/var/log/system.log',
  ])('refuses %s', (value) => {
    expect(inspectPath(value, undefined)?.rule).toBe('path-sensitive-root');
  });

  it.each([
    '/var/tmp/upload-7.csv',
    '/var/cache/app/thumbs/a.png',
    '/var/folders/xy/T/report.pdf',
    '/var/app.sock',
    '/var/exports/2024/q3.xlsx',
    '/usr/local/go/src/log/slog/handler.go',
    '/usr/share/zoneinfo/right/Etc/GMT+8',
    '/usr/lib/python3/dist-packages/awscli/customizations/logs/tail.py',
    '/opt/tools/sdk/lib/surface/secrets/describe.py',
  ])('passes %s', (value) => {
    expect(inspectPath(value, undefined)).toBeUndefined();
  });
});
