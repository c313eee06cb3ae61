#!/bin/bash
echo "before notes" >> "$HOOK_LOG"
