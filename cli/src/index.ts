export {
  atlasProxyFetch,
  configureAtlas,
  createAtlasClient,
  type AtlasClient,
  type AtlasClientOptions,
} from './client';
