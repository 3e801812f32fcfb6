# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by the x509 modules.

Their argument specs live once too: ``module_utils._crypto.x509.DIRECTORIES_ARGS`` and
``module_utils._crypto.x509.PROFILE_ARGS``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


class ModuleDocFragment(object):
    # Directories made first (x509_ca, x509_request).
    DIRECTORIES = r"""
options:
  directories:
    description: Directories to create or keep at their mode first, in order (parents first).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory.
        type: path
        required: true
      mode:
        description: Its mode, octal text.
        type: str
        default: "0700"
"""

    # What a host certificate carries (x509_request checks it, x509_sign issues it).
    PROFILE = r"""
options:
  subject_alt_names:
    description: C(DNS:<name>) and C(IP:<address>) entries the certificate carries.
    type: list
    elements: str
    default: []
  key_usage:
    description: Key usages (critical), named as OpenSSL names them.
    type: list
    elements: str
    choices: [digitalSignature, contentCommitment, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign]
    default: [digitalSignature]
  extended_key_usage:
    description: Extended key usages.
    type: list
    elements: str
    choices: [serverAuth, clientAuth]
    default: [serverAuth]
"""
