import { fileURLToPath } from 'node:url';

/**
 * Absolute directory holding the `ecs_ingress/*.lua` modules shipped with the controller
 * (`packages/controller/lua`). Both `src/dynamic/` and the built `dist/dynamic/` sit two levels
 * below the package root, so the same relative URL works from source and from the build. Pass it
 * to the renderer's `renderDynamicHttpPreamble({ luaPackagePath })`.
 */
export function dynamicLuaDir(): string {
  return fileURLToPath(new URL('../../lua/', import.meta.url)).replace(/\/$/, '');
}
