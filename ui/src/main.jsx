import { render } from 'preact';
import { App } from './App.jsx';
import { initialLanguage, setLanguage } from './i18n/index.js';
import './styles.css';

setLanguage(initialLanguage());
render(<App />, document.getElementById('app'));
