/**
 * A small SQL lexer shared by the `sql` lexical profile check and the `sql-fragment`
 * detector. It knows the quoting and comment rules of the common dialects, selected by a
 * `SqlDialect`, so callers can ask "what is code here under PostgreSQL, MySQL or T-SQL
 * rules?" and be strict under all of them. It allocates nothing per token except the
 * lower-cased text of short words and operators, and every loop advances the position,
 * so a scan is linear in the input.
 */

export const Tok = {
  End: 0,
  Word: 1,
  /** `@name`, `@@name` (MySQL/T-SQL variables), `:name`, `$1`. */
  Variable: 2,
  Number: 3,
  /** `'…'`, and `"…"` where the dialect makes it a string. */
  String: 4,
  /** `"…"` (ANSI), `` `…` `` (MySQL), `[…]` (T-SQL). */
  QuotedIdent: 5,
  Operator: 6,
  LParen: 7,
  RParen: 8,
  Comma: 9,
  Dot: 10,
  Semicolon: 11,
  Comment: 12,
  Other: 13,
} as const;
export type TokenType = (typeof Tok)[keyof typeof Tok];

export interface SqlDialect {
  readonly name: string;
  /** `\'` does not close a string (MySQL; PostgreSQL only inside E'…'). */
  readonly backslashEscapes: boolean;
  readonly doubleQuoteIsString: boolean;
  readonly hashComments: boolean;
  /** MySQL: `--` starts a comment only when followed by whitespace, a control char or the end. */
  readonly dashCommentNeedsSpace: boolean;
  readonly nestedComments: boolean;
  readonly bracketIdentifiers: boolean;
  readonly backtickIdentifiers: boolean;
  readonly dollarQuotes: boolean;
  /** MySQL executes the body of `/*! … *\/` comments. */
  readonly execComments: boolean;
  /** PostgreSQL `E'…'` strings, where a backslash escapes the quote. */
  readonly escapeStrings: boolean;
  /** Quotes are ordinary characters (a quote-blind view of the value). */
  readonly quotesAsText?: boolean;
}

export const POSTGRES: SqlDialect = {
  name: 'postgres',
  backslashEscapes: false,
  doubleQuoteIsString: false,
  hashComments: false,
  dashCommentNeedsSpace: false,
  nestedComments: true,
  bracketIdentifiers: false,
  backtickIdentifiers: false,
  dollarQuotes: true,
  execComments: false,
  escapeStrings: true,
};

export const MYSQL: SqlDialect = {
  name: 'mysql',
  backslashEscapes: true,
  doubleQuoteIsString: true,
  hashComments: true,
  dashCommentNeedsSpace: true,
  nestedComments: false,
  bracketIdentifiers: false,
  backtickIdentifiers: true,
  dollarQuotes: false,
  execComments: true,
  escapeStrings: false,
};

export const TSQL: SqlDialect = {
  name: 'tsql',
  backslashEscapes: false,
  doubleQuoteIsString: false,
  hashComments: false,
  dashCommentNeedsSpace: false,
  nestedComments: true,
  bracketIdentifiers: true,
  backtickIdentifiers: false,
  dollarQuotes: false,
  execComments: false,
  escapeStrings: false,
};

export const ALL_DIALECTS: readonly SqlDialect[] = [POSTGRES, MYSQL, TSQL];

/** Words longer than this cannot be keywords or function names we look for. */
const MAX_TEXT = 64;

const C_TAB = 9;
const C_LF = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_BANG = 33;
const C_DQUOTE = 34;
const C_HASH = 35;
const C_DOLLAR = 36;
const C_QUOTE = 39;
const C_LPAREN = 40;
const C_RPAREN = 41;
const C_STAR = 42;
const C_COMMA = 44;
const C_DASH = 45;
const C_DOT = 46;
const C_SLASH = 47;
const C_0 = 48;
const C_9 = 57;
const C_COLON = 58;
const C_SEMI = 59;
const C_AT = 64;
const C_LBRACKET = 91;
const C_BACKSLASH = 92;
const C_RBRACKET = 93;
const C_BACKTICK = 96;

function isSpace(c: number): boolean {
  // MySQL and PostgreSQL whitespace plus NBSP, which some drivers pass through.
  // NUL separates tokens too: servers and drivers that pass it on treat it as a gap.
  return c === C_SPACE || (c >= C_TAB && c <= C_CR) || c === 0xa0 || c === 0;
}

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

/** Identifier characters: ASCII letters, digits, `_`, `$`, and any non-ASCII letter-ish code unit. */
export function isWordChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    isDigit(c) ||
    c === 95 ||
    c === C_DOLLAR ||
    (c >= 0x80 && c !== 0xa0 && !(c >= 0x2000 && c <= 0x206f) && c !== 0x3000 && c !== 0xfeff)
  );
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

const MULTI_OPS = ['<=>', '<>', '!=', '<=', '>=', '||', '&&', '::', ':=', '<<', '>>', '->>', '->', '!<', '!>', '^='];
const OP_CHARS = new Set('+-*/<>=~!%^&|?:'.split('').map((ch) => ch.charCodeAt(0)));

/**
 * Pull lexer. `next()` advances to the next token and returns its type; the token's fields
 * are read from the lexer itself (no object per token).
 */
export class SqlLexer {
  type: TokenType = Tok.End;
  start = 0;
  end = 0;
  /** Lower-cased text of words, variables and operators (empty when longer than 64 chars). */
  text = '';
  /** Strings, quoted identifiers and block comments: whether the closing delimiter was found. */
  closed = true;
  /** For strings: the quote character code; for comments: `-`, `#` or `*`. */
  delimiter = 0;
  /** True when whitespace or a comment separated this token from the previous one. */
  spaceBefore = false;
  /** A MySQL `/*! … *\/` executable comment was entered (its body was lexed as code). */
  sawExecComment = false;

  private pos = 0;
  private inExecComment = false;
  private pendingQuote: number;

  constructor(
    private readonly src: string,
    private readonly dialect: SqlDialect,
    /** Start inside a string opened by this quote (the `sql-fragment` quote contexts). */
    startInQuote = 0,
  ) {
    this.pendingQuote = startInQuote;
  }

  get position(): number {
    return this.pos;
  }

  /** Continues lexing at `pos` (a caller that consumed a span itself); never moves backwards. */
  seek(pos: number): void {
    if (pos > this.pos) this.pos = Math.min(pos, this.src.length);
  }

  next(): TokenType {
    const s = this.src;
    const n = s.length;
    this.spaceBefore = false;
    if (this.pendingQuote !== 0) {
      const q = this.pendingQuote;
      this.pendingQuote = 0;
      return this.lexQuoted(0, q, Tok.String);
    }
    let p = this.pos;
    while (p < n) {
      const c = s.charCodeAt(p);
      if (isSpace(c)) {
        p++;
        this.spaceBefore = true;
        continue;
      }
      if (this.inExecComment && c === C_STAR && s.charCodeAt(p + 1) === C_SLASH) {
        this.inExecComment = false;
        p += 2;
        this.spaceBefore = true;
        continue;
      }
      break;
    }
    this.pos = p;
    this.start = p;
    this.text = '';
    this.closed = true;
    this.delimiter = 0;
    if (p >= n) return this.set(Tok.End, p);
    const c = s.charCodeAt(p);
    const c1 = p + 1 < n ? s.charCodeAt(p + 1) : -1;

    // Comments first: they win over operators.
    if (c === C_DASH && c1 === C_DASH) {
      const c2 = p + 2 < n ? s.charCodeAt(p + 2) : -1;
      if (!this.dialect.dashCommentNeedsSpace || c2 === -1 || c2 <= C_SPACE) return this.lineComment(p, C_DASH);
    }
    if (c === C_HASH && this.dialect.hashComments) return this.lineComment(p, C_HASH);
    if (c === C_SLASH && c1 === C_STAR) {
      if (this.dialect.execComments && p + 2 < n && s.charCodeAt(p + 2) === C_BANG) {
        // `/*!50000 UNION */`: the body is code; skip the marker and optional version number.
        let q = p + 3;
        let digits = 0;
        while (q < n && digits < 6 && isDigit(s.charCodeAt(q))) {
          q++;
          digits++;
        }
        this.inExecComment = true;
        this.sawExecComment = true;
        this.pos = q;
        this.spaceBefore = true;
        return this.next();
      }
      return this.blockComment(p);
    }

    if (this.dialect.quotesAsText === true && (c === C_QUOTE || c === C_DQUOTE || c === C_BACKTICK)) {
      return this.set(Tok.Other, p + 1);
    }
    if (c === C_QUOTE) return this.lexQuoted(p + 1, C_QUOTE, Tok.String);
    if (c === C_DQUOTE) return this.lexQuoted(p + 1, C_DQUOTE, this.dialect.doubleQuoteIsString ? Tok.String : Tok.QuotedIdent);
    if (c === C_BACKTICK && this.dialect.backtickIdentifiers) return this.lexQuoted(p + 1, C_BACKTICK, Tok.QuotedIdent);
    if (c === C_LBRACKET && this.dialect.bracketIdentifiers) return this.lexQuoted(p + 1, C_RBRACKET, Tok.QuotedIdent);
    if (c === C_DOLLAR && this.dialect.dollarQuotes) {
      const dq = this.dollarQuote(p);
      if (dq !== undefined) return dq;
    }
    // E'…' (PostgreSQL escape string), N'…', X'…', B'…', U&'…' prefixes.
    if ((c === 69 || c === 101) && c1 === C_QUOTE && this.dialect.escapeStrings) {
      return this.lexQuotedWith(p + 2, C_QUOTE, Tok.String, true);
    }
    if ((c === 78 || c === 110 || c === 88 || c === 120 || c === 66 || c === 98) && c1 === C_QUOTE) {
      return this.lexQuoted(p + 2, C_QUOTE, Tok.String);
    }

    if (c === C_LPAREN) return this.set(Tok.LParen, p + 1);
    if (c === C_RPAREN) return this.set(Tok.RParen, p + 1);
    if (c === C_COMMA) return this.set(Tok.Comma, p + 1);
    if (c === C_SEMI) return this.set(Tok.Semicolon, p + 1);
    if (c === C_DOT && !isDigit(c1)) return this.set(Tok.Dot, p + 1);

    if (c === C_AT) {
      let q = p + 1;
      if (q < n && s.charCodeAt(q) === C_AT) q++;
      const nameStart = q;
      while (q < n && (isWordChar(s.charCodeAt(q)) || s.charCodeAt(q) === C_DOT)) q++;
      if (q > nameStart) return this.withText(Tok.Variable, q);
      return this.withText(Tok.Operator, p + 1);
    }
    if (c === C_COLON && c1 !== C_COLON && c1 !== 61 && c1 >= 0 && isWordChar(c1) && !isDigit(c1)) {
      let q = p + 1;
      while (q < n && isWordChar(s.charCodeAt(q))) q++;
      return this.withText(Tok.Variable, q);
    }
    if (c === C_DOLLAR && isDigit(c1)) {
      let q = p + 1;
      while (q < n && isDigit(s.charCodeAt(q))) q++;
      return this.withText(Tok.Variable, q);
    }

    if (isDigit(c) || (c === C_DOT && isDigit(c1))) return this.number(p);
    if (isWordChar(c)) {
      let q = p + 1;
      while (q < n && isWordChar(s.charCodeAt(q))) q++;
      return this.withText(Tok.Word, q);
    }
    if (OP_CHARS.has(c) || c === C_HASH || c === C_BACKTICK) {
      if (c1 >= 0 && OP_CHARS.has(c1)) {
        for (const op of MULTI_OPS) {
          if (s.startsWith(op, p)) return this.withText(Tok.Operator, p + op.length);
        }
      }
      return this.withText(Tok.Operator, p + 1);
    }
    // Surrogate pairs and other symbols: one code point.
    const w = c >= 0xd800 && c <= 0xdbff && p + 1 < n ? 2 : 1;
    return this.set(Tok.Other, p + w);
  }

  private set(type: TokenType, end: number): TokenType {
    this.type = type;
    this.end = end;
    this.pos = end;
    return type;
  }

  private withText(type: TokenType, end: number): TokenType {
    this.text = end - this.start <= MAX_TEXT ? this.src.slice(this.start, end).toLowerCase() : '';
    return this.set(type, end);
  }

  private lineComment(p: number, delimiter: number): TokenType {
    const s = this.src;
    let q = p;
    const n = s.length;
    while (q < n) {
      const c = s.charCodeAt(q);
      if (c === C_LF || c === C_CR) break;
      q++;
    }
    this.delimiter = delimiter;
    return this.set(Tok.Comment, q);
  }

  private blockComment(p: number): TokenType {
    const s = this.src;
    const n = s.length;
    let depth = 1;
    let q = p + 2;
    while (q < n) {
      const c = s.charCodeAt(q);
      if (c === C_STAR && q + 1 < n && s.charCodeAt(q + 1) === C_SLASH) {
        depth--;
        q += 2;
        if (depth === 0 || !this.dialect.nestedComments) {
          depth = 0;
          break;
        }
        continue;
      }
      if (this.dialect.nestedComments && c === C_SLASH && q + 1 < n && s.charCodeAt(q + 1) === C_STAR) {
        depth++;
        q += 2;
        continue;
      }
      q++;
    }
    this.closed = depth === 0;
    this.delimiter = C_STAR;
    return this.set(Tok.Comment, q);
  }

  private lexQuoted(from: number, quote: number, type: TokenType): TokenType {
    const backslash = this.dialect.backslashEscapes && quote !== C_BACKTICK && quote !== C_RBRACKET;
    return this.lexQuotedWith(from, quote, type, backslash);
  }

  /** A quoted run; a doubled quote stays inside; with `backslash`, `\x` escapes one char. */
  private lexQuotedWith(from: number, quote: number, type: TokenType, backslash: boolean): TokenType {
    const s = this.src;
    const n = s.length;
    let q = from;
    this.closed = false;
    while (q < n) {
      const c = s.charCodeAt(q);
      if (backslash && c === C_BACKSLASH) {
        q += 2;
        continue;
      }
      if (c === quote) {
        if (q + 1 < n && s.charCodeAt(q + 1) === quote) {
          q += 2;
          continue;
        }
        q++;
        this.closed = true;
        break;
      }
      q++;
    }
    if (q > n) q = n;
    this.delimiter = quote;
    const closed = this.closed;
    const t = this.set(type, q);
    this.closed = closed;
    return t;
  }

  /** PostgreSQL `$tag$ … $tag$`; undefined when `$` does not start one. */
  private dollarQuote(p: number): TokenType | undefined {
    const s = this.src;
    const n = s.length;
    let q = p + 1;
    while (q < n && q - p <= MAX_TEXT) {
      const c = s.charCodeAt(q);
      if (c === C_DOLLAR) break;
      if (!(isWordChar(c) && c !== C_DOLLAR) || (q === p + 1 && isDigit(c))) return undefined;
      q++;
    }
    if (q >= n || s.charCodeAt(q) !== C_DOLLAR) return undefined;
    const tag = s.slice(p, q + 1);
    const close = s.indexOf(tag, q + 1);
    this.delimiter = C_DOLLAR;
    if (close < 0) {
      this.set(Tok.String, n);
      this.closed = false;
      return Tok.String;
    }
    this.set(Tok.String, close + tag.length);
    this.closed = true;
    return Tok.String;
  }

  private number(p: number): TokenType {
    const s = this.src;
    const n = s.length;
    let q = p;
    const c1 = p + 1 < n ? s.charCodeAt(p + 1) : -1;
    if (s.charCodeAt(p) === C_0 && (c1 === 120 || c1 === 88)) {
      q = p + 2;
      while (q < n && isHexDigit(s.charCodeAt(q))) q++;
    } else {
      while (q < n && (isDigit(s.charCodeAt(q)) || s.charCodeAt(q) === C_DOT)) q++;
      const e = q < n ? s.charCodeAt(q) : -1;
      if ((e === 101 || e === 69) && q + 1 < n) {
        const f = s.charCodeAt(q + 1);
        if (isDigit(f)) q += 1;
        else if ((f === 43 || f === C_DASH) && q + 2 < n && isDigit(s.charCodeAt(q + 2))) q += 2;
        while (q < n && isDigit(s.charCodeAt(q))) q++;
      }
    }
    // `1union`, `1.UNION`, `1e0UNION`: the number ends where its digits end and the letters
    // that follow are lexed as a word. MySQL would read `1union` as one identifier, but
    // splitting is the strict choice: it can only reveal keywords, never hide them.
    return this.withText(Tok.Number, q);
  }
}
