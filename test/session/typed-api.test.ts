// One API description types both sides; Standard Schema validation at the handler boundary.
import {
  createClient,
  createServer,
  ManualClock,
  RequestError,
  type StandardSchemaV1,
  type TetherClient,
  type TetherServer,
} from "@tether/core";
import { createMemoryNetwork } from "@tether/transport-memory";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { closeOnClock } from "../support/close-on-clock.js";

interface ChatApi {
  ops: {
    post: { body: { text: string }; answer: { id: number } };
    history: { body: undefined; answer: string[] };
  };
  pushes: { message: { id: number; text: string }; typing: string };
}

/** A Standard Schema (as zod, valibot or arktype provide one) for `{ text: string }`, trimming it. */
const postBody: StandardSchemaV1<unknown, { text: string }> = {
  "~standard": {
    version: 1,
    vendor: "test",
    validate: (value) => {
      const text = (value as { text?: unknown } | null)?.text;
      if (typeof text !== "string") return { issues: [{ message: "expected a string", path: ["text"] }] };
      if (text.trim() === "") return { issues: [{ message: "must not be blank", path: [{ key: "text" }] }] };
      return { value: { text: text.trim() } };
    },
  },
};

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function start(): Promise<{
  clock: ManualClock;
  server: TetherServer<ChatApi>;
  client: TetherClient<ChatApi>;
}> {
  const clock = new ManualClock();
  const network = createMemoryNetwork({ clock });
  const server = createServer<ChatApi>({ clock, tickTime: 1000 });
  await server.listen(network.transport(), "s1");
  const client = createClient<ChatApi>({
    servers: [{ transport: network.transport(), address: "s1" }],
    clock,
  });
  closers.push(() => closeOnClock(clock, client, server));
  for (let i = 0; i < 100 && client.state !== "connected"; i++) await clock.advanceAsync(10);
  return { clock, server, client };
}

describe("a typed API", () => {
  it("checks handlers, requests and pushes against one description (type tests)", async () => {
    const { server, client } = await start();
    server.handle("post", (body) => {
      expectTypeOf(body).toEqualTypeOf<{ text: string }>();
      return { id: body.text.length };
    });
    server.handle("history", () => ["hello"]);
    // @ts-expect-error: an op the API does not have
    expect(() => server.handle("delete", () => null)).not.toThrow();
    // @ts-expect-error: an answer of the wrong shape (checked by the compiler only: "post" is taken)
    expect(() => server.handle("post", () => ({ id: "one" }))).toThrow(/already registered/);

    const posted = client.request("post", { text: "hi" });
    expectTypeOf(posted).toEqualTypeOf<Promise<{ id: number }>>();
    await expect(posted).resolves.toEqual({ id: 2 });
    await expect(client.request("history")).resolves.toEqual(["hello"]);
    // @ts-expect-error: a body of the wrong shape
    void client.request("post", { txt: "hi" }).catch(() => {});
    // @ts-expect-error: a body the op needs, left out
    void client.request("post").catch(() => {});

    client.on("push", (...args) => {
      const [topic, body] = args;
      if (topic === "message") expectTypeOf(body).toEqualTypeOf<{ id: number; text: string }>();
      else expectTypeOf(body).toEqualTypeOf<string>();
    });
    await server.push(client.sessionId as string, "typing", "ann");
    // @ts-expect-error: a push body that does not match its topic
    await server.push(client.sessionId as string, "typing", 42).catch(() => {});
  });

  it("untyped, as before: any op, any body, answers unknown", async () => {
    const clock = new ManualClock();
    const server = createServer({ clock });
    server.handle("anything", (body) => body);
    const network = createMemoryNetwork({ clock });
    const client = createClient({ servers: [{ transport: network.transport(), address: "nobody" }], clock });
    const answer = client.request("anything", 1);
    answer.catch(() => {}); // nobody answers: the client is closed below
    expectTypeOf(answer).toEqualTypeOf<Promise<unknown>>();
    client.request("anything").catch(() => {});
    await client.close();
    await server.close();
  });
});

describe("Standard Schema at the handler boundary", () => {
  it("runs the handler with the schema's output, and answers a failing body invalid-body without running it", async () => {
    const { server, client } = await start();
    const seen: string[] = [];
    server.handle(
      "post",
      (body) => {
        seen.push(body.text);
        return { id: seen.length };
      },
      { body: postBody },
    );
    await expect(client.request("post", { text: "  hi  " })).resolves.toEqual({ id: 1 });
    expect(seen).toEqual(["hi"]);
    const refused = await client.request("post", { text: "   " }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RequestError);
    expect((refused as RequestError).code).toBe("invalid-body");
    expect((refused as RequestError).message).toBe("text: must not be blank");
    const wrong = await client
      .request("post", { text: 7 } as unknown as { text: string })
      .catch((e: unknown) => e);
    expect((wrong as RequestError).message).toBe("text: expected a string");
    expect(seen).toEqual(["hi"]);
  });

  it("waits for a schema that validates asynchronously, and bounds what its issues send back", async () => {
    const { server, client } = await start();
    const slow: StandardSchemaV1<unknown, { text: string }> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: async () => ({ issues: [{ message: "x".repeat(10_000) }] }),
      },
    };
    server.handle("post", () => ({ id: 0 }), { body: slow });
    const refused = (await client.request("post", { text: "hi" }).catch((e: unknown) => e)) as RequestError;
    expect(refused.code).toBe("invalid-body");
    expect(refused.message.length).toBeLessThanOrEqual(515);
  });

  it("takes a zod schema as it is (zod implements Standard Schema)", async () => {
    const { server, client } = await start();
    server.handle("post", (body) => ({ id: body.text.length }), {
      body: z.object({ text: z.string().min(1) }),
    });
    await expect(client.request("post", { text: "four" })).resolves.toEqual({ id: 4 });
    const refused = (await client.request("post", { text: "" }).catch((e: unknown) => e)) as RequestError;
    expect(refused.code).toBe("invalid-body");
    expect(refused.message).toMatch(/^text: /);
  });
});
