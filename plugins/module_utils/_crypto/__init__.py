# -*- coding: utf-8 -*-
# Copyright: prodready.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The internal CA of the tls and exporters roles: keys, certificates and the decisions about them
(x509.py), and the private files that hold them (files.py). Used by the modules x509_ca,
x509_request and x509_sign."""
