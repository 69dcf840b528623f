/** The cache's single flight is the isolate's one ({@link InflightMap} in `shared/inflight.ts`). */
export { InflightMap } from "../inflight";
