import { generate } from "selfsigned";

export interface TestCertificate {
  key: string;
  cert: string;
}

let cached: Promise<TestCertificate> | undefined;

/** A self-signed EC certificate for `localhost` and 127.0.0.1, made once per test process. */
export function testCertificate(): Promise<TestCertificate> {
  cached ??= generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    algorithm: "sha256",
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return cached;
}
