url = https://notes.${DOMAIN}
