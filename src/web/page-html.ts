/**
 * The page at `/`. Its script and styles are the bundle of src/web/app.ts (built by `npm run build` into
 * dist/web/, served under /app/); nothing is loaded from another origin.
 */
import { SEARCHED_AUDIO_EXTENSIONS } from '../audio/formats.js';

/** What the file picker offers: any audio type, and the extensions of the formats the CLI's folder search takes. */
const PICKER_ACCEPT = ['audio/*', ...SEARCHED_AUDIO_EXTENSIONS].join(',');

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>emotion2vec · speech emotion recognition</title>
<link rel="stylesheet" href="/app/app.css">
<script type="module" src="/app/app.js"></script>
</head>
<body data-state="loading">
<header>
  <h1>emotion2vec <small>speech emotion recognition</small></h1>
  <p id="model-info">Connecting to the server…</p>
</header>
<main>
  <section id="input-panel" aria-label="Audio input">
    <label id="drop-zone" for="file-input">
      <input id="file-input" type="file" accept="${PICKER_ACCEPT}">
      <strong>Drop an audio file here</strong> or click to pick one
      <span id="file-name"></span>
    </label>
    <div class="row">
      <button id="record-button" type="button">● Record from the microphone</button>
      <button id="live-button" type="button">◉ Listen live (in this page)</button>
      <fieldset id="mode-switch">
        <legend>Run the model</legend>
        <label><input type="radio" name="mode" value="server" checked> on the server</label>
        <label><input type="radio" name="mode" value="page"> in this page</label>
      </fieldset>
    </div>
    <p id="status" role="status"></p>
    <ol id="live-segments" aria-label="Live speech segments" hidden></ol>
  </section>
  <section id="result-panel" aria-label="Result" hidden>
    <div id="top-emotion">
      <span id="top-emoji"></span>
      <div><div id="top-name"></div><div id="top-confidence"></div></div>
    </div>
    <ul id="score-bars"></ul>
    <ul id="warnings"></ul>
    <div id="timeline" hidden></div>
    <div class="row">
      <button id="download-json" type="button">Download result.json</button>
      <button id="download-npy" type="button">Download embedding.npy</button>
    </div>
    <p id="result-meta"></p>
  </section>
</main>
</body>
</html>
`;
