import { randomBytes } from "node:crypto";
import { CloseCode, createClient, createServer, type Logger, MessageType } from "@tether/core";
import { tcp } from "@tether/transport-tcp";
import { webSocket } from "@tether/transport-ws";
import { describe, expect, it } from "vitest";
import { RawSession } from "../support/raw-session.js";

describe("session hijack attempts", () => {
  for (const [name, transport] of [
    ["tcp", tcp],
    ["ws", webSocket],
  ] as const) {
    it(`over ${name}: 300 resumes with wrong passwords all fail, and the owner is never disturbed`, async () => {
      const lines: string[] = [];
      const capture = (o: object, m?: string) => lines.push(`${m ?? ""} ${JSON.stringify(o)}`);
      const logger: Logger = { debug: capture, info: capture, warn: capture, error: capture };
      const server = createServer({ tickTime: 100, logger, maxConnectionsPerAddress: 0 });
      server.handle("echo", (body) => body);
      try {
        const listener = await server.listen(transport(), "127.0.0.1:0");
        const owner = createClient({
          servers: [{ transport: transport(), address: listener.address }],
          timeout: 2000,
          logger,
        });
        await owner.connected();
        const states: string[] = [];
        owner.on("state", (s) => states.push(s));
        const session = server.getSession(owner.sessionId as string);
        const ownerAddress = session?.remoteAddress;
        const codes = new Map<number, number>();
        for (let wave = 0; wave < 30; wave++) {
          const attempts = await Promise.all(
            Array.from({ length: 10 }, async () => {
              const r = await RawSession.dial(transport(), listener.address);
              r.hello({ sessionId: owner.sessionId as string, password: new Uint8Array(randomBytes(16)) });
              await r.waitFor((m) => m[0] === MessageType.Goodbye || m[0] === MessageType.Welcome);
              r.connection.abort();
              return r;
            }),
          );
          for (const r of attempts) {
            expect(r.received.some((m) => m[0] === MessageType.Welcome)).toBe(false);
            const code = r.goodbyeCode() as number;
            codes.set(code, (codes.get(code) ?? 0) + 1);
          }
          expect(await owner.request("echo", wave)).toBe(wave);
        }
        expect([...codes]).toEqual([[CloseCode.SessionExpired, 300]]);
        expect(states).toEqual([]);
        expect(session?.remoteAddress).toBe(ownerAddress);
        expect(session?.connected).toBe(true);
        // Passwords never reach the logs, in any encoding.
        const password = session?.tracked.password as Uint8Array;
        const log = lines.join("\n");
        for (const encoded of [
          Buffer.from(password).toString("hex"),
          Buffer.from(password).toString("base64"),
          JSON.stringify([...password]),
        ]) {
          expect(log).not.toContain(encoded);
        }
        expect(lines.length).toBeGreaterThan(0);
        await owner.close();
      } finally {
        await server.close();
      }
    });
  }
});
