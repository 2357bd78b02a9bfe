-- Records the rate-limit state the guard computed (new_tat); run once the request is sure to be applied.
redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', new_tat))
