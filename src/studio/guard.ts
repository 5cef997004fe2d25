/**
 * Who may talk to the studio. A local server is reachable by every web page the user opens, and by
 * DNS rebinding (a foreign name resolved to 127.0.0.1), so each API request must carry the per-start
 * token (query `token`, header `X-Mlm-Token`, or the cookie a page load with the token sets), name
 * this server in its Host header, and, when it sends an Origin, come from this server's own origin.
 *
 * @example
 *   import { createServer } from "node:http";
 *   const guard = new RequestGuard("127.0.0.1", 8080);
 *   createServer((req, res) => {
 *     guard.checkHost(req); // throws HttpError(403) for Host: evil.example:8080
 *     guard.checkApi(req, new URL(req.url ?? "/", "http://127.0.0.1:8080"));
 *     res.end("ok");
 *   });
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http.js";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export class RequestGuard {
  /** 32 random bytes, hex: the secret printed in the URL. */
  readonly token = randomBytes(32).toString("hex");
  /** The Host header values that name this server. */
  private readonly hosts: Set<string>;

  constructor(
    host: string,
    readonly port: number,
  ) {
    const names = LOOPBACK.has(host) ? ["127.0.0.1", "localhost", "[::1]"] : [host.includes(":") ? `[${host}]` : host];
    this.hosts = new Set(names.map((n) => `${n}:${port}`));
  }

  /** The cookie's name: one per port, since cookies are shared between the ports of a host. */
  get cookieName(): string {
    return `mlm_studio_${this.port}`;
  }

  /** The Set-Cookie value that lets the page's own requests (fetch, EventSource) carry the token. */
  cookie(): string {
    return `${this.cookieName}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** 403 unless the Host header names this server (a rebound foreign name does not). */
  checkHost(req: IncomingMessage): void {
    const host = req.headers.host;
    if (host === undefined || !this.hosts.has(host.toLowerCase())) throw new HttpError(403, "unexpected Host header");
  }

  /** Whether `given` is the token, compared in constant time. */
  matches(given: string | undefined | null): boolean {
    if (typeof given !== "string" || given.length !== this.token.length) return false;
    return timingSafeEqual(Buffer.from(given), Buffer.from(this.token));
  }

  /** The checks of an API request: Host, Origin when present, and the token from query, header or cookie. */
  checkApi(req: IncomingMessage, url: URL): void {
    this.checkHost(req);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) throw new HttpError(403, "foreign Origin");
    const header = req.headers["x-mlm-token"];
    const given = [url.searchParams.get("token"), typeof header === "string" ? header : null, this.cookieToken(req)];
    if (!given.some((g) => this.matches(g)))
      throw new HttpError(401, "missing or wrong token (use the URL mlm studio printed)");
  }

  /** The token in this server's cookie, if the request has one. */
  private cookieToken(req: IncomingMessage): string | null {
    for (const part of (req.headers.cookie ?? "").split(";")) {
      const [name, value] = part.trim().split("=");
      if (name === this.cookieName) return value ?? null;
    }
    return null;
  }
}
