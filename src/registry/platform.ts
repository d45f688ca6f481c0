/** The platform of an image, as registries' indexes name it: kept with the image model, since file inputs' indexes name it too. */
export * from '../image/platform.js';
