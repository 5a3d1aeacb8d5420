// Hash routing (#/queues): works from any URL pbxd serves index.html at, needs no server help.
import { useEffect, useState } from 'preact/hooks';

function currentRoute() {
  const path = window.location.hash.replace(/^#\/?/, '');
  const [id = '', ...rest] = path.split('/');
  return { id: decodeURIComponent(id), rest: rest.map(decodeURIComponent) };
}

export function navigate(id) {
  window.location.hash = `#/${id}`;
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
