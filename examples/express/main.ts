import { startExpressApp } from "./app.js";

try {
  const app = await startExpressApp(Number(process.env.PORT ?? 3000));
  console.log(`Express routes at ${app.url}/health, Tether at ${app.tetherAddress}`);
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
