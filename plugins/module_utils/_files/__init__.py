# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of the file modules that edit or adjust files the roles do not write whole:
write (temporary file, validate, rename), lines (the line edits of file_lines and config_files'
state=lines items), attributes (owner, group and mode of file_attributes and config_files'
state=attributes items). Standard library only."""
