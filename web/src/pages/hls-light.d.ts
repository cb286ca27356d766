// hls.js ships its light build (no subtitles, alternate audio, EME) without a
// type entry for the "hls.js/light" export: it has the full build's API.
declare module 'hls.js/light' {
  export * from 'hls.js';
  export { default } from 'hls.js';
}
