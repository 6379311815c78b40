// The language selector: the header's and the login page's. Each language is named in its own script.
import { language, LANGUAGES, chooseLanguage } from "./i18n.js";
import { t } from "./format.js";
import { toast } from "./store.js";

export const LanguagePicker = {
  setup() {
    async function pick(event) {
      const select = event.target;
      try {
        await chooseLanguage(select.value);
      } catch (e) {
        select.value = language.value;
        toast(t("language_failed", { message: e.message }), "bad");
      }
    }
    return { language, LANGUAGES, pick, t };
  },
  template: `
  <label class="lang-picker" data-testid="language">
    <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3a9 9 0 100 18 9 9 0 000-18zM3 12h18M12 3c2.5 2.6 3.7 5.6 3.7 9s-1.2 6.4-3.7 9c-2.5-2.6-3.7-5.6-3.7-9S9.5 5.6 12 3z"/></svg>
    <span class="sr-only">{{ t('language') }}</span>
    <select :value="language" @change="pick">
      <option v-for="l in LANGUAGES" :key="l.code" :value="l.code" :lang="l.code">{{ l.name }}</option>
    </select>
  </label>`,
};
