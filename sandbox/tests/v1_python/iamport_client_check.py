"""Drives the official PortOne V1 REST client for Python (`iamport-rest-client`
on PyPI, MIT) against the sandbox, pointing only its base URL at it.

Run by tests/v1_python_client.rs. argv[1] is a JSON object: base_url, imp_key,
imp_secret, imp_uid and merchant_uid of a paid 12,000 won payment, and
customer_uid of an issued billing key. Prints one JSON object with what each
client call returned (or the client's exception) for the Rust test to check.
This file is the sandbox's own test code; it imports the client, it does not
copy it.
"""

import json
import sys
import time

from iamport import Iamport


def error(e):
    if isinstance(e, Iamport.ResponseError):
        return {"error": "ResponseError", "code": e.code, "message": e.message}
    if isinstance(e, Iamport.HttpError):
        return {"error": "HttpError", "code": e.code, "reason": e.reason}
    raise e


def attempt(f):
    try:
        return {"ok": f()}
    except (Iamport.ResponseError, Iamport.HttpError) as e:
        return error(e)


def main():
    cfg = json.loads(sys.argv[1])
    client = Iamport(
        imp_key=cfg["imp_key"],
        imp_secret=cfg["imp_secret"],
        imp_url=cfg["base_url"] + "/iamport/",
    )
    imp_uid, merchant_uid, customer_uid = cfg["imp_uid"], cfg["merchant_uid"], cfg["customer_uid"]
    now = int(time.time())
    out = {}
    out["find_by_imp_uid"] = attempt(lambda: client.find(imp_uid=imp_uid))
    out["find_by_merchant_uid"] = attempt(lambda: client.find(merchant_uid=merchant_uid))
    out["find_missing"] = attempt(lambda: client.find(imp_uid="imp_000000000000"))
    out["is_paid"] = attempt(lambda: client.is_paid(12000, imp_uid=imp_uid))
    out["is_paid_other_amount"] = attempt(lambda: client.is_paid(11999, merchant_uid=merchant_uid))

    out["prepare"] = attempt(lambda: client.prepare(merchant_uid="py-order-2", amount=5000))
    out["prepare_validate"] = attempt(lambda: client.prepare_validate(merchant_uid="py-order-2", amount=5000))
    out["prepare_validate_other"] = attempt(lambda: client.prepare_validate(merchant_uid="py-order-2", amount=4000))
    out["prepare_again"] = attempt(lambda: client.prepare(merchant_uid="py-order-2", amount=6000))

    out["cancel_partial"] = attempt(
        lambda: client.cancel("부분 취소", imp_uid=imp_uid, amount=2000, checksum=12000)
    )
    out["cancel_stale_checksum"] = attempt(
        lambda: client.cancel("부분 취소", imp_uid=imp_uid, amount=1000, checksum=12000)
    )
    out["cancel_rest"] = attempt(lambda: client.cancel("전액 취소", merchant_uid=merchant_uid))
    out["cancel_missing"] = attempt(lambda: client.cancel("없음", imp_uid="imp_000000000000"))

    out["customer_get"] = attempt(lambda: client.customer_get(customer_uid))
    bypass = json.dumps({"tosspay_v2": {"cashReceiptTradeOption": "GENERAL", "sendFailPush": False}})
    out["pay_again"] = attempt(
        lambda: client.pay_again(
            customer_uid=customer_uid, merchant_uid="py-again-1", amount=9900, name="월 구독", bypass=bypass
        )
    )
    out["pay_again_unknown_customer"] = attempt(
        lambda: client.pay_again(customer_uid="nobody", merchant_uid="py-again-2", amount=9900, name="x")
    )
    out["pay_schedule"] = attempt(
        lambda: client.pay_schedule(
            customer_uid=customer_uid,
            schedules=[
                {"merchant_uid": "py-sched-1", "schedule_at": now + 3600, "amount": 9900, "name": "2월분"},
                {"merchant_uid": "py-sched-2", "schedule_at": now + 7200, "amount": 9900, "name": "3월분"},
            ],
        )
    )
    out["pay_schedule_get"] = attempt(lambda: client.pay_schedule_get("py-sched-1"))
    out["pay_schedule_get_between"] = attempt(
        lambda: client.pay_schedule_get_between(schedule_from=now, schedule_to=now + 86400)
    )
    out["pay_unschedule"] = attempt(
        lambda: client.pay_unschedule(customer_uid=customer_uid, merchant_uid="py-sched-2")
    )
    out["pay_unschedule_again"] = attempt(
        lambda: client.pay_unschedule(customer_uid=customer_uid, merchant_uid="py-sched-2")
    )
    out["customer_delete"] = attempt(lambda: client.customer_delete(customer_uid))
    out["customer_get_deleted"] = attempt(lambda: client.customer_get(customer_uid))
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
