// Data hooks the pages share: a list read from the API, suggestions for a form, a refresh
// every few seconds.
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { errorMessage } from './components/errors.js';

/**
 * The records of a list endpoint (GET path -> {items}); `itemsOf(data)` when the answer has
 * another shape. items: null until the first answer; a failed load keeps the rows already
 * shown (none on the first) and gives the error.
 */
export function useList(path, itemsOf = (data) => data.items) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(async () => {
    try {
      const data = await api('GET', path);
      setItems(itemsOf(data));
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
      setItems((old) => old || []);
    }
  }, [path]);
  useEffect(() => {
    load();
  }, [load]);
  return { items, error, load, setItems };
}

/**
 * The items of a list endpoint as suggestions for a form (prompts, extensions, queues): [] until
 * they come, without a path, or when this role may not read them: the fields work without.
 */
export function useSuggestions(path) {
  const [items, setItems] = useState([]);
  useEffect(() => {
    if (!path) return;
    api('GET', path)
      .then((data) => setItems(data.items || []))
      .catch(() => setItems([]));
  }, [path]);
  return items;
}

/** Calls `load` now and every `ms` while the page is visible (live tables and figures). */
export function useRefresh(load, ms) {
  useEffect(() => {
    load();
    const timer = setInterval(() => {
      if (!document.hidden) load();
    }, ms);
    return () => clearInterval(timer);
  }, [load, ms]);
}
