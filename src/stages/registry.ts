/** Stage types by config `type`. Adding a stage: one file, one schema entry, one refinement, one factory line. */
import { z } from 'zod';
import { createEnrichStage, enrichStageObjectSchema, refineEnrichStage, type EnrichStageConfig } from './enrich';
import { createProfileStage, profileStageObjectSchema, refineProfileStage, type ProfileStageConfig } from './profile';
import type { Stage, StageDeps } from './stage';

export type StageConfig = EnrichStageConfig | ProfileStageConfig;

const refinements: { [T in StageConfig['type']]: (config: Extract<StageConfig, { type: T }>, ctx: z.RefinementCtx) => void } = {
  enrich: refineEnrichStage,
  profile: refineProfileStage,
};

// A discriminated union on `type`, so an unknown type is reported as such (with the known ones)
// and a known type reports its own field errors; the checks across fields run afterwards.
export const stageConfigSchema = z
  .discriminatedUnion('type', [enrichStageObjectSchema, profileStageObjectSchema])
  .superRefine((config, ctx) => refinements[config.type](config as never, ctx))
  .describe('A processor stage; `type` picks the implementation.');

const factories: { [T in StageConfig['type']]: (config: Extract<StageConfig, { type: T }>, deps: StageDeps) => Promise<Stage> } = {
  enrich: createEnrichStage,
  profile: createProfileStage,
};

export function createStage(config: StageConfig, deps: StageDeps): Promise<Stage> {
  return factories[config.type](config as never, deps);
}
