import { ConnectionBase, createServer, MessageType, PROTOCOL_VERSION, type TetherServer } from "@tether/core";
import { Packr } from "msgpackr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const packr = new Packr({ useRecords: false });

/**
 * A connection that holds every frame it is given by reference until the turn that sent it
 * ends, as a transport may (`Connection.send`): a frame's bytes must stay as they were until
 * then. What it was given is read from its copies.
 */
class HoldingConnection extends ConnectionBase {
  readonly transport = "holding";
  readonly localAddress = "holding:server";
  readonly remoteAddress = "holding:client";
  readonly bufferedAmount = 0;
  readonly held: Array<{ frame: Uint8Array; bytesThen: Buffer; changedInItsTurn?: boolean }> = [];

  deliver(message: unknown[]): void {
    this.receive(packr.pack(message));
    this.receiveComplete();
  }
  decoded(): unknown[][] {
    return this.held.map(({ bytesThen }) => packr.unpack(bytesThen) as unknown[]);
  }
  protected sendFrame(frame: Uint8Array): boolean {
    const held: (typeof this.held)[number] = { frame, bytesThen: Buffer.from(frame) };
    this.held.push(held);
    setImmediate(() => {
      held.changedInItsTurn = !Buffer.from(held.frame).equals(held.bytesThen);
    });
    return true;
  }
  protected closeGracefully(): void {
    this.finish({ local: true });
  }
  protected destroy(): void {
    this.finish({ local: false });
  }
  protected pauseReading(): void {}
  protected resumeReading(): void {}
}

/**
 * Answers large enough to be kept as bytes: 2,000 (a copy of the encoder's frame) and 16 KiB
 * (encoded into the kept memory itself).
 */
const BODY_SIZES = [2000, 16 * 1024];
let bodyBytes = 2000;
const request = (seq: number, fill: number, responseAck: number) => [
  MessageType.Request,
  seq,
  "echo",
  new Uint8Array(bodyBytes).fill(fill),
  0,
  responseAck,
];
const turn = () => new Promise((resolve) => setImmediate(resolve));

let server: TetherServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function open() {
  server = createServer({ maxConnectionsPerAddress: 0 });
  server.handle("echo", (value) => value);
  const connection = new HoldingConnection();
  server.accept(connection);
  connection.deliver([MessageType.Hello, PROTOCOL_VERSION, 30_000, null, null, 0, null]);
  await turn();
  const welcome = connection.decoded()[0] as unknown[];
  expect(welcome[0]).toBe(MessageType.Welcome);
  return { connection, sessionId: welcome[1] as string, password: welcome[2] as Uint8Array };
}

/** The Responses the connection was given, as [seq, first byte of the body]. */
function answersOf(connection: HoldingConnection): unknown[][] {
  const answers = connection.decoded().filter((m) => m[0] === MessageType.Response);
  return answers.map((m) => [m[1], (m[2] as Uint8Array)[0]]);
}

/** Every frame the connection was given held its bytes until the turn that sent it ended. */
function expectUnchanged(connection: HoldingConnection): void {
  expect(connection.held.map((h) => h.changedInItsTurn)).toEqual(connection.held.map(() => false));
}

/** A session that answered requests 1 and 2 and lost its connection, resumed on a new one. */
async function resumeAfterTwoAnswers(): Promise<HoldingConnection> {
  const { connection, sessionId, password } = await open();
  connection.deliver(request(1, 1, 1));
  connection.deliver(request(2, 2, 1));
  await turn();
  connection.close();
  await turn();
  const resumed = new HoldingConnection();
  server?.accept(resumed);
  resumed.deliver([MessageType.Hello, PROTOCOL_VERSION, 30_000, sessionId, password, 0, null]);
  return resumed;
}

describe.each(BODY_SIZES)("answers kept until acknowledged (%i-byte bodies)", (size) => {
  beforeEach(() => {
    bodyBytes = size;
  });

  it("sends a resent request's kept answer as bytes that later answers never overwrite", async () => {
    const { connection } = await open();
    connection.deliver(request(1, 1, 1));
    await turn();
    connection.deliver(request(1, 1, 1)); // resent: answered from the kept copy
    await turn();
    // Acknowledging answer 1 frees its memory; answers 2 and 3 are kept in memory of that size.
    connection.deliver(request(2, 2, 2));
    connection.deliver(request(3, 3, 2));
    await turn();
    expect(answersOf(connection)).toEqual([
      [1, 1],
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expectUnchanged(connection);
  });

  // Requests 3 and 4 acknowledge both replayed answers: read in a later turn than the resume,
  // then in the same one.
  it.each([
    ["on resume as bytes that later answers never overwrite", true],
    ["and takes their acknowledgement in one turn without changing what it sent", false],
  ])("replays kept answers %s", async (_, turnBetween) => {
    const resumed = await resumeAfterTwoAnswers();
    if (turnBetween) await turn();
    resumed.deliver(request(3, 3, 3));
    resumed.deliver(request(4, 4, 3));
    await turn();
    await turn();
    expect(answersOf(resumed)).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
    expectUnchanged(resumed);
  });
});
