#!/bin/bash
echo "after notes" >> "$HOOK_LOG"
