/** The image as read, under the module name build-types.ts imports it by: read-image.ts holds it. */
export type { LayerRead, ReadImage } from './read-image.js';
