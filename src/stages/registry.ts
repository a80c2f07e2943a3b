/** Stage types by config `type`. Adding a stage: one file, one schema entry, one factory line. */
import { z } from 'zod';
import { createEnrichStage, enrichStageSchema, type EnrichStageConfig } from './enrich';
import type { Stage, StageDeps } from './stage';

export const stageConfigSchema = z.union([enrichStageSchema, enrichStageSchema]).describe('A processor stage; `type` picks the implementation.');
export type StageConfig = EnrichStageConfig;

const factories: { [T in StageConfig['type']]: (config: Extract<StageConfig, { type: T }>, deps: StageDeps) => Promise<Stage> } = {
  enrich: createEnrichStage,
};

export function createStage(config: StageConfig, deps: StageDeps): Promise<Stage> {
  return factories[config.type](config as never, deps);
}
