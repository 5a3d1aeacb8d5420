// The one audio player of a page (prompts, recordings, the IVR editor): a row's play button
// loads its audio here, so that nothing is fetched before someone listens.
import { useEffect, useRef } from 'preact/hooks';
import { seg } from '../api.js';
import { t } from '../i18n/index.js';

export function promptAudioUrl(id, language) {
  return `/api/v1/prompts/${seg(id)}/audio?language=${language}`;
}

export function recordingAudioUrl(id) {
  return `/api/v1/recordings/${seg(id)}/audio`;
}

/**
 * A bar over the list: what plays (caption), the <audio> (`audio`: its data-* attributes for
 * tests), a close button. testId: the bar's data-testid.
 */
export function PlayerBar({ caption, src, audio, testId, onClose }) {
  const element = useRef(null);
  useEffect(() => {
    // the same <audio> gets the next source: start it (autoplay covers the first)
    const player = element.current;
    if (player && player.paused) player.play().catch(() => {});
  }, [src]);
  return (
    <div class="panel player-bar" data-testid={testId}>
      <span class="nowrap">{caption}</span>
      <audio ref={element} controls autoplay preload="auto" src={src} {...audio} />
      <button type="button" class="icon" aria-label={t('action.close')} onClick={onClose}>
        ×
      </button>
    </div>
  );
}
