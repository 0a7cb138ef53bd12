export { BRIGHTEST_MODEL, BRIGHTEST_MODELS, mlserverCommand, startMlServer } from './mlserver.js'
export type { MlServer, MlServerOptions } from './mlserver.js'
